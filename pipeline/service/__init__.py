"""The reference prediction service: HTTP in front of the promoted model (see `pipeline.serve`)."""
