"""Production monitoring: data drift between a reference and a current batch.

numpy, scipy and pyarrow are imported inside functions, when `specops drift` first needs them.
"""
