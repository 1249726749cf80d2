"""The `specops` command: parse arguments, call specops.commands, print the result.

Exit codes: 0 success, 1 a check failed (stale files), 2 invalid input or usage.
Heavy modules are imported inside the handlers so that `--help` and `--version` start fast.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from specops import __version__

OK, CHECK_FAILED, USAGE = 0, 1, 2


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _validate(args: argparse.Namespace) -> int:
    from specops import commands

    summary = commands.validate(args.spec)
    if args.format == "json":
        _print_json(summary.as_dict())
    else:
        print(
            f"{summary.spec}: valid; maturity {summary.maturity}, {len(summary.stages)} stage(s), "
            f"{len(summary.models)} model(s), {summary.gates} gate(s)"
        )
    return OK


def _render(args: argparse.Namespace) -> int:
    from specops import commands

    result = commands.render(args.spec, check=args.check)
    if args.format == "json":
        _print_json(result.as_dict())
    else:
        if args.diff:
            sys.stdout.writelines(change.diff() for change in result.stale)
        if not args.check:
            for change in result.changes:
                print(f"{change.path}: {change.action.value}")
        elif result.stale:
            for change in result.stale:
                print(f"{change.path}: out of date (would {change.action.value})")
            print("run `specops render` to update them", file=sys.stderr)
        else:
            print(f"{len(result.changes)} generated file(s) up to date")
    return CHECK_FAILED if args.check and result.stale else OK


def _init(args: argparse.Namespace) -> int:
    from specops import commands

    created = commands.init(args.spec)
    if args.format == "json":
        _print_json({"created": created})
    else:
        for path in created:
            print(f"created {path}")
        print("next: git init && dvc init && dvc repro  (skip what is done already)")
    return OK


def _schema(args: argparse.Namespace) -> int:
    from specops import commands

    _print_json(commands.schema())
    return OK


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--spec",
        type=Path,
        default=None,
        metavar="PATH",
        help="the spec file; paths in it are relative to its folder (default: specops.yaml here "
        "or in the nearest folder above, up to the Git root)",
    )
    common.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    common.add_argument("--traceback", action="store_true", help="show tracebacks of errors")

    root = argparse.ArgumentParser(
        prog="specops",
        description="MLOps as code: validate specops.yaml and render dvc.yaml and CI workflows.",
    )
    root.add_argument("--version", action="version", version=f"specops {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        cmd = sub.add_parser(name, parents=[common], help=text, description=text)
        cmd.set_defaults(handler=handler)
        return cmd

    command("init", _init, "scaffold a working project into an empty folder")
    command("validate", _validate, "check the spec and report every problem")
    render = command("render", _render, "write dvc.yaml and the workflows the spec describes")
    render.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is missing or stale"
    )
    render.add_argument("--diff", action="store_true", help="show what changes, as a diff")
    command("schema", _schema, "print the JSON Schema of the spec, for editor completion")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    # A run is short and builds no cyclic garbage worth collecting: the collector would only
    # re-scan the heap while modules import and the spec loads (about a tenth of start-up).
    gc.disable()
    try:
        return _run(argv)
    finally:
        gc.enable()
        gc.freeze()  # nothing left to collect: spare interpreter exit a last full collection


def _run(argv: Sequence[str] | None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except Exception as exc:
        from specops.spec.problems import SpecError

        if args.traceback or not isinstance(exc, SpecError):
            raise
        if args.format == "json":
            _print_json({"valid": False, "problems": [p.__dict__ for p in exc.problems]})
        for line in exc.lines():
            print(line, file=sys.stderr)
        return USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
