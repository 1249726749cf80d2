"""The only actions generated workflows use, pinned to full commit SHAs."""

from __future__ import annotations

from typing import NamedTuple


class Pin(NamedTuple):
    sha: str
    version: str


PINS: dict[str, Pin] = {
    "actions/checkout": Pin("11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "actions/setup-python": Pin("a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "actions/upload-artifact": Pin("ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"),
    "actions/download-artifact": Pin("d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"),
    "aws-actions/configure-aws-credentials": Pin(
        "e6de054238d6b7531b4efff3b6587d9aade6a06c", "v6.2.3"
    ),
}


def uses(action: str) -> str:
    """The `uses:` value with the version as a trailing comment, as Dependabot keeps it."""
    pin = PINS[action]
    return f"{action}@{pin.sha} # {pin.version}"
