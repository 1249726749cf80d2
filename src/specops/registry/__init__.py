"""The model registry in Git: GTO's tags, and files read at a revision."""
