"""Deployment: a registered model's bytes, fetched and verified, and the team's command that
ships them. Imports are limited to deploy, registry and spec."""


class CheckFailed(Exception):
    """A check failed (exit 1); the message says which and why."""
