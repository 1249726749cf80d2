"""specops: MLOps as code. One validated spec renders the DVC pipeline and the CI workflows."""

__version__ = "0.1.0"
