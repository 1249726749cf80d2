"""The model registry: versions and stages of each model as Git tags in GTO's format.

`name@v1.2.3` registers a version, `name@v1.2.3!` deregisters it, `name#stage#N` assigns a
stage and `name#stage!#N` unassigns it; N counts the model's stage events, so that every
assignment has a tag of its own. Annotated tags carry the evidence of each change as JSON.
"""
