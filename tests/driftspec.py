"""The spec of a project that only watches batches, where the drift tests start."""

#: A valid spec up to its `monitoring:` key; each test appends the settings it needs.
WATCHED = """\
version: 1
name: watched
maturity: 0
stages:
  train:
    cmd: python train.py
monitoring:
"""
