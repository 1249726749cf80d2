"""The `specops` command: parse arguments, call specops.commands, print the result.

Exit codes: 0 success, 1 a check failed (stale files, a failed gate), 2 invalid input or usage.
Heavy modules are imported inside the handlers so that `--help` and `--version` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import io
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from specops import __version__

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from specops.commands import DriftResult

OK, CHECK_FAILED, USAGE = 0, 1, 2


def printable(text: str) -> str:
    """specops.spec.problems.printable, imported only when output needs it: importing the spec
    package loads pydantic, which --help and --version do not need."""
    from specops.spec.problems import printable as escape

    return escape(text)


def _print_json(data: Any) -> None:
    print(json.dumps(_valid_unicode(data), indent=2))


def _valid_unicode(data: Any) -> Any:
    """`data` with the bytes of undecodable file names as `\\xff` text: a lone surrogate is
    not Unicode, and strict JSON readers refuse it."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(data, dict):
        return {_valid_unicode(k): _valid_unicode(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_valid_unicode(v) for v in data]
    return data


def _validate(args: argparse.Namespace) -> int:
    from specops import commands

    summary = commands.validate(args.spec)
    if args.format == "json":
        _print_json(summary.as_dict())
    else:
        print(
            f"{printable(summary.spec)}: valid; maturity {summary.maturity}, "
            f"{len(summary.stages)} stage(s), {len(summary.models)} model(s), "
            f"{summary.gates} gate(s)"
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
                print(f"{printable(change.path)}: {change.action.value}")
        elif result.stale:
            for change in result.stale:
                print(f"{printable(change.path)}: out of date (would {change.action.value})")
            print("run `specops render` to update them", file=sys.stderr)
        else:
            print(f"{len(result.changes)} generated file(s) up to date")
    return CHECK_FAILED if args.check and result.stale else OK


def _init(args: argparse.Namespace) -> int:
    from specops import commands

    result = commands.init(args.spec)
    if args.format == "json":
        _print_json(result.as_dict())
    else:
        for action, path in result.files:
            print(f"{action} {printable(path)}")
        for path, what in result.todo:
            print(f"todo {printable(path)}: {what}")
        print(f"next: {' && '.join(result.next)}")
    return OK


def _import(args: argparse.Namespace) -> int:
    from specops import commands

    result = commands.import_(args.spec, maturity=args.maturity, name=args.name)
    if args.format == "json":
        _print_json(result.as_dict())
        return OK
    imported = {found.path: found for found in result.imported}
    spec = printable(result.spec)
    for change in result.changes:
        path = printable(change.path)
        found = imported.get(change.path)
        if found is not None:
            comments = f", {found.comments} comment(s)" if found.comments else ""
            print(f"{path}: imported, {found.stages} stage(s){comments}; now rendered from {spec}")
        elif change.path == result.spec_name:
            print(f"{path}: created (name {result.name}, maturity {result.maturity})")
        else:
            print(f"{path}: {change.action.value}d")
    if any(found.comments for found in result.imported) and result.as_written:
        print(f"comments kept in {spec}, where they were: rendered files keep none")
    elif any(found.comments for found in result.imported):
        where = "above the key or item each was next to: rendered files keep none"
        print(f"comments moved to {spec}, {where}")
    check = "`specops render --check` and `dvc status` see no change"
    print(f"next: {check}; commit the files above together")
    return OK


def _schema(args: argparse.Namespace) -> int:
    from specops import commands

    _print_json(commands.schema())
    return OK


def _print_refused(what: str, reasons: list[str]) -> None:
    print(f"specops: {what} refused:", file=sys.stderr)
    for reason in reasons:
        print(f"  {printable(reason)}", file=sys.stderr)


def _promote(args: argparse.Namespace) -> int:
    from specops import commands

    result = commands.promote(
        args.spec,
        args.model,
        args.to,
        version=args.version,
        bump=args.bump,
        force=args.force,
        reason=args.reason,
        push=args.push,
        remote=args.remote,
    )
    if args.format == "json":
        _print_json(result.as_dict())
    elif not result.ok:
        _print_refused(f"promotion of {result.model} to {result.stage}", result.refused)
    elif result.tags:
        pushed = f" and pushed to {args.remote}" if result.pushed else ""
        tags = ", ".join(result.tags)
        print(f"{result.model} {result.version} -> {result.stage}: tagged {tags}{pushed}")
    else:
        print(f"{result.model} {result.version} is in {result.stage} already; nothing to do")
    return OK if result.ok else CHECK_FAILED


def _history(args: argparse.Namespace) -> int:
    from specops import commands

    found = commands.history(args.spec, args.model)
    if args.format == "json":
        _print_json(found.as_dict())
        return OK
    if not found.events:
        print("no version registered yet; `specops promote MODEL --to STAGE` registers one")
    for model, stages in found.stages.items():
        held = ", ".join(f"{stage}={version}" for stage, version in stages.items()) or "none"
        print(f"{model}: {held}")
    for event in found.events:
        facts = event.evidence or {}
        line = (
            f"{event.created_at}  {event.tag}  {event.kind}  {event.version}  {event.commit[:12]}"
        )
        print(printable(f"{line}  {event.tagger}"))
        if "gates_passed" in facts:
            print(f"    gates: {'passed' if facts['gates_passed'] else 'failed'}")
        if facts.get("reason"):
            print(printable(f"    reason: {facts['reason']}"))
    return OK


def _retire(args: argparse.Namespace) -> int:
    from specops import commands

    result = commands.retire(
        args.spec,
        args.model,
        stage=args.stage,
        version=args.version,
        reason=args.reason,
        push=args.push,
        remote=args.remote,
    )
    if args.format == "json":
        _print_json(result.as_dict())
    elif result.tags:
        print(f"{result.model} {result.version}: tagged {', '.join(result.tags)}")
    else:
        print(f"{result.model} {result.version} was retired already; nothing to do")
    return OK


def _fetch(args: argparse.Namespace) -> int:
    from specops import commands

    try:
        result = commands.fetch(
            args.spec,
            args.model,
            stage=args.stage,
            version=args.version,
            out=args.out,
            force=args.force,
        )
    except commands.CheckFailed as exc:
        return _check_failed(args, f"fetch of {args.model} failed: {exc}")
    if args.format == "json":
        _print_json(result.as_dict())
    else:
        done = "wrote" if result.written else "already there, unchanged:"
        print(printable(f"{done} {result.path}"))
        print(f"  {result.model} {result.version} at {result.commit}")
        print(f"  md5 {result.md5}, from {result.source}")
    return OK


def _check_failed(args: argparse.Namespace, message: str) -> int:
    if args.format == "json":
        _print_json({"ok": False, "error": message})
    print(f"specops: {printable(message)}", file=sys.stderr)
    return CHECK_FAILED


def _deploy(args: argparse.Namespace) -> int:
    from specops import commands

    def show(check: Any) -> None:
        print(printable(f"{check.verdict:<7} {check.name}: {check.detail}"), flush=True)

    as_json = args.format == "json"
    result = commands.deploy(
        args.spec,
        args.model,
        args.stage,
        version=args.version,
        branch=args.branch,
        dry_run=args.dry_run,
        on_check=None if as_json else show,
        quiet_stdout=as_json,
    )
    if as_json:
        _print_json(result.as_dict())
    elif result.ok:
        print(printable(result.message))
    else:
        print(f"specops: {printable(result.message)}", file=sys.stderr)
    return OK if result.ok else CHECK_FAILED


def _rollback(args: argparse.Namespace) -> int:
    from specops import commands

    result = commands.rollback(
        args.spec,
        args.model,
        args.stage,
        to=args.to,
        reason=args.reason,
        push=args.push,
        remote=args.remote,
    )
    if args.format == "json":
        _print_json(result.as_dict())
    elif not result.ok:
        _print_refused(f"rollback of {result.model} in {result.stage}", result.refused)
    else:
        pushed = f" and pushed to {args.remote}" if result.pushed else ""
        print(
            f"{result.model} {result.stage}: {result.replaces} -> {result.version} (rollback): "
            f"tagged {', '.join(result.tags)}{pushed}"
        )
        print(f"next: specops deploy {result.model} --stage {result.stage}")
    return OK if result.ok else CHECK_FAILED


def _card(args: argparse.Namespace) -> int:
    from specops import commands

    text = commands.card(args.spec, args.model)
    if args.format == "json":
        _print_json({"model": args.model, "markdown": text})
    else:
        sys.stdout.write(text)
    return OK


def _gate(args: argparse.Namespace) -> int:
    from specops import commands

    run = commands.gate(args.spec, args.model, require_baseline=args.require_baseline)
    if args.format == "json":
        _print_json(run.as_dict())
    elif args.format == "md":
        sys.stdout.write(run.markdown())
    else:
        sys.stdout.write(run.text())
    return OK if run.ok else CHECK_FAILED


def _report(args: argparse.Namespace) -> int:
    from specops import commands

    result = commands.report(args.spec, args.base)
    if args.format == "json":
        _print_json(result.as_dict())
    else:
        sys.stdout.write(result.markdown)
    return OK


def _column_type(text: str) -> tuple[str, str]:
    name, _, kind = text.rpartition("=")
    if not name or kind not in ("numeric", "categorical"):
        raise argparse.ArgumentTypeError(f"{text!r} is not COLUMN=numeric or COLUMN=categorical")
    return name, kind


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share above 0 and at most 1")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return value


def _drift(args: argparse.Namespace) -> int:
    from specops import commands
    from specops.spec.problems import Problem, SpecError

    if args.combine is not None:
        given = [
            option
            for option, value in (
                ("--reference", args.reference),
                ("--current", args.current),
                ("--partial", args.partial),
                ("--method", args.method),
                ("--threshold", args.threshold),
                ("--share", args.share),
                ("--column-type", args.column_type),
                ("--target", args.target),
                ("--prediction", args.prediction),
                ("--predicted-class", args.predicted_class),
                ("--latency", args.latency),
            )
            if value is not None
        ]
        if given:
            reason = f"combines the partitions' runs with their settings: drop {given[0]}"
            raise SpecError([Problem.plain("--combine", reason)])
        written = ("--output", args.output) if args.output is not None else None
        return _drift_report(args, commands.drift_combine(args.combine, written))
    progress = _Progress.on_terminal(args.format)
    options = commands.DriftOptions(
        reference=args.reference,
        current=args.current,
        method=args.method,
        threshold=args.threshold,
        share=args.share,
        column_types=dict(args.column_type or ()),
        # An empty value drops the spec's column for that role: '' is kept, None is not given.
        roles={
            role: getattr(args, role)
            for role in ("target", "prediction", "predicted_class", "latency")
            if getattr(args, role) is not None
        },
        progress=progress,
    )
    try:
        if args.partial is not None:
            summary = commands.drift_partial(args.spec, options, output=("--partial", args.partial))
        else:
            written = ("--output", args.output) if args.output is not None else None
            result = commands.drift(args.spec, options, output=written)
    finally:
        if progress is not None:  # the line cleared before the report prints
            progress.close()
    if args.partial is not None:
        return _drift_partial(args, summary)
    return _drift_report(args, result)


def _drift_report(args: argparse.Namespace, result: DriftResult) -> int:
    from specops import commands

    if args.format == "json":
        output = json.dumps(_valid_unicode(result.as_dict()), indent=2) + "\n"
    elif args.format == "md":
        output = result.markdown()
    elif args.format == "html":
        output = result.html()
    else:
        output = result.text()
    if args.output is not None:
        commands.write_output(args.output, output)
    else:
        sys.stdout.write(output)
    return OK if result.ok else CHECK_FAILED


def _drift_partial(args: argparse.Namespace, summary: dict[str, Any]) -> int:
    """Write the partition's summary; say what it holds, and how its contract broke."""
    from specops import commands
    from specops.spec.problems import Problem, SpecError

    if args.output is not None:
        reason = "writes the summary there; --output names a report, which --combine writes"
        raise SpecError([Problem.plain("--partial", reason)])
    commands.write_output(args.partial, json.dumps(_valid_unicode(summary)) + "\n")
    breaches = summary["contract"]
    if args.format == "json":
        _print_json(
            {
                "partial": str(args.partial),
                "current": summary["current"]["path"],
                "rows": summary["current"]["rows"],
                "columns": len(summary["columns"]),
                "contract": breaches,
            }
        )
    else:
        current, rows = summary["current"]["path"], summary["current"]["rows"]
        for breach in breaches:
            print(f"contract: {printable(breach['column'])}: {printable(breach['problem'])}")
        print(
            f"{printable(str(args.partial))}: the summary of {printable(current)} ({rows:,} rows,"
            f" {len(summary['columns'])} column(s)); combine it with the other partitions'"
            " with `specops drift --combine`"
        )
    return CHECK_FAILED if breaches else OK


class _Progress:
    """How far a long drift run has read, on one line of a terminal's stderr."""

    #: Seconds between two updates of the line.
    EVERY = 0.2

    def __init__(self) -> None:
        self.shown = False
        self.last = 0.0

    @classmethod
    def on_terminal(cls, output_format: str) -> _Progress | None:
        """Progress only for a person at a terminal: not in CI logs, nor amid JSON."""
        if output_format == "json" or os.environ.get("CI") or not sys.stderr.isatty():
            return None
        return cls()

    def __call__(self, side: str, done: int, total: int) -> None:
        if total < 2:  # one batch: nothing to follow
            return
        now = time.monotonic()
        if self.shown and done < total and now - self.last < self.EVERY:
            return
        self.last, self.shown = now, True
        share = min(done, total) / total
        sys.stderr.write(f"\rreading the {side}: batch {done:,} of {total:,} ({share:.0%})\x1b[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


class _Parser(argparse.ArgumentParser):
    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # argparse drops a failed write of --help or --version; report it like any other.
        if message:
            (file or sys.stderr).write(message)

    def error(self, message: str) -> NoReturn:
        """A usage error in one line, like every other error."""
        self.exit(USAGE, f"{self.prog}: error: {printable(message)}; see `{self.prog} --help`\n")


def _common(formats: list[str]) -> _Parser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--spec",
        type=Path,
        default=None,
        metavar="PATH",
        help="the spec file; paths in it are relative to its folder (default: specops.yaml here "
        "or in the nearest folder above, up to the Git root)",
    )
    common.add_argument("--format", choices=formats, default="text", help="output format")
    common.add_argument("--traceback", action="store_true", help="show tracebacks of errors")
    return common


def parser() -> argparse.ArgumentParser:
    common = _common(["text", "json"])
    root = _Parser(
        prog="specops",
        description="MLOps as code: validate specops.yaml and render dvc.yaml and CI workflows.",
    )
    root.add_argument("--version", action="version", version=f"specops {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        handler: Callable[[argparse.Namespace], int],
        text: str,
        parent: _Parser = common,
    ) -> Any:
        cmd = sub.add_parser(name, parents=[parent], help=text, description=text)
        cmd.set_defaults(handler=handler)
        return cmd

    command("init", _init, "scaffold a working project; in an existing one, add what is missing")
    adopt = command(
        "import", _import, "adopt a DVC project: write a spec that renders its dvc.yaml files"
    )
    adopt.add_argument(
        "--maturity",
        type=int,
        choices=range(5),
        default=0,
        metavar="N",
        help="the spec's maturity level, 0 to 4 (0)",
    )
    adopt.add_argument("--name", help="the project's name (default: from the folder's name)")
    command("validate", _validate, "check the spec and report every problem")
    render = command("render", _render, "write dvc.yaml and the workflows the spec describes")
    render.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is missing or stale"
    )
    render.add_argument("--diff", action="store_true", help="show what changes, as a diff")
    command("schema", _schema, "print the JSON Schema of the spec, for editor completion")

    def pushing(cmd: Any) -> None:
        cmd.add_argument("--push", action="store_true", help="push the tags, all or none")
        cmd.add_argument("--remote", default="origin", help="the remote to push to (origin)")

    promote = command("promote", _promote, "gate the current commit, then tag it into a stage")
    promote.add_argument("model", help="a key of `models` in the spec")
    promote.add_argument("--to", required=True, metavar="STAGE", help="a promotion stage")
    numbering = promote.add_mutually_exclusive_group()
    numbering.add_argument("--version", metavar="X.Y.Z", help="the version to register")
    numbering.add_argument(
        "--bump",
        choices=["patch", "minor", "major"],
        default="patch",
        help="how to number a new version from the latest (patch; the first is v0.1.0)",
    )
    promote.add_argument("--force", action="store_true", help="promote although gates fail")
    promote.add_argument("--reason", metavar="TEXT", help="why --force; kept in the tag")
    pushing(promote)
    history = command("history", _history, "versions, stages and their evidence, newest first")
    history.add_argument("model", nargs="?", help="only this model")
    retire = command("retire", _retire, "take a stage from a model, or deregister a version")
    retire.add_argument("model", help="a key of `models` in the spec")
    which = retire.add_mutually_exclusive_group(required=True)
    which.add_argument("--stage", help="unassign this stage from the version that holds it")
    which.add_argument("--version", metavar="X.Y.Z", help="deregister this version")
    retire.add_argument("--reason", required=True, metavar="TEXT", help="why; kept in the tag")
    pushing(retire)
    card = command("card", _card, "print the model card in Markdown")
    card.add_argument("model", help="a key of `models` in the spec")
    fetch = command("fetch", _fetch, "write the model file of a version, checked against dvc.lock")
    fetch.add_argument("model", help="a key of `models` in the spec")
    which = fetch.add_mutually_exclusive_group(required=True)
    which.add_argument("--stage", help="the version that holds this stage")
    which.add_argument("--version", metavar="X.Y.Z", help="this version")
    fetch.add_argument("--out", metavar="PATH", help="where to write (default: its name, here)")
    fetch.add_argument("--force", action="store_true", help="replace a file with other bytes")
    deploy = command("deploy", _deploy, "check the version in a stage, then run its deploy.cmd")
    deploy.add_argument("model", help="a key of `models` in the spec")
    deploy.add_argument("--stage", required=True, help="a key of `deploy` in the spec")
    deploy.add_argument(
        "--version", metavar="X.Y.Z", help="skip (exit 0) unless this version holds the stage"
    )
    deploy.add_argument(
        "--branch", default="HEAD", metavar="REF", help="the version must be on it (HEAD)"
    )
    deploy.add_argument("--dry-run", action="store_true", help="check, fetch, run nothing")
    rollback = command("rollback", _rollback, "give a stage back to an earlier version")
    rollback.add_argument("model", help="a key of `models` in the spec")
    rollback.add_argument("--stage", required=True, help="a promotion stage")
    rollback.add_argument(
        "--to", metavar="X.Y.Z", help="this version (default: the one before the current one)"
    )
    rollback.add_argument("--reason", required=True, metavar="TEXT", help="why; kept in the tag")
    pushing(rollback)
    gate = command(
        "gate",
        _gate,
        "check the working tree's metrics against the gates; exit 1 if one fails",
        _common(["text", "json", "md"]),
    )
    gate.add_argument("model", nargs="?", metavar="MODEL", help="the model (a key of models)")
    gate.add_argument(
        "--require-baseline",
        action="store_true",
        help="fail a gate whose `vs` has nothing to compare with yet",
    )
    report = command(
        "report",
        _report,
        "print Markdown for a pull request: gates, metrics and params against a base, the DAG",
        _common(["md", "json"]),
    )
    report.set_defaults(format="md")
    report.add_argument(
        "--base",
        metavar="REV",
        default=None,
        help="the revision to compare with (default: origin/$GITHUB_BASE_REF when set, else main)",
    )
    drift = command(
        "drift",
        _drift,
        "compare the current batch with the reference: data contract, then drift per column;"
        " exit 1 on drift",
        _common(["text", "json", "md", "html"]),
    )
    drift.add_argument("--reference", type=Path, metavar="PATH", help="CSV or Parquet (spec's)")
    drift.add_argument("--current", type=Path, metavar="PATH", help="CSV or Parquet (spec's)")
    drift.add_argument(
        "--method",
        choices=["auto", "ks", "chi2", "z", "wasserstein", "jensenshannon", "psi"],
        help="how to compare each column (spec's, else auto: as Evidently chooses)",
    )
    drift.add_argument(
        "--threshold", type=_finite, metavar="X", help="the method's threshold (its default)"
    )
    drift.add_argument(
        "--share",
        type=_share,
        metavar="S",
        help="the batch drifts when at least this share of columns drift (spec's, else 0.5)",
    )
    drift.add_argument(
        "--column-type",
        type=_column_type,
        action="append",
        metavar="COL=TYPE",
        help="treat a column as numeric or categorical (default: decided from the data)",
    )
    for flag, what in (
        ("--target", "the ground truth: its classes, numbers or strings (spec's)"),
        ("--prediction", "the model's score, the probability of class 1 (spec's)"),
        ("--predicted-class", "the class the model predicted (spec's; binary: else score >= 0.5)"),
        ("--latency", "each prediction's latency in milliseconds (spec's)"),
    ):
        drift.add_argument(flag, metavar="COL", help=f"the column of {what}; '' for none")
    drift.add_argument("--output", type=Path, metavar="FILE", help="write the report there")
    drift.add_argument(
        "--partial",
        type=Path,
        metavar="OUT",
        help="the current batch is one partition: write its summary (JSON) to OUT, for --combine",
    )
    drift.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="SUMMARY",
        help="the verdict of the whole batch from its partitions' summaries (--partial)",
    )
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


def _say(line: str) -> None:
    """One line on stderr, where even a broken or full stdout must not stop it."""
    with contextlib.suppress(OSError):  # nowhere left to report to; the exit code still tells
        print(line, file=sys.stderr, flush=True)


_OUTPUT_ERRORS = (errno.EPIPE, errno.ENOSPC, errno.EIO, errno.EBADF)


def _run(argv: Sequence[str] | None) -> int:
    if sys.stdout is None or sys.stderr is None:  # started with a closed stdout (`>&-`)
        if sys.stderr is not None:
            _say("specops: error: standard output is closed")
        return USAGE
    for stream in (sys.stdout, sys.stderr):
        # A terminal or pipe that cannot show a character gets an escape, not a crash.
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = parser().parse_args(argv)
    except SystemExit as done:  # --help and --version print, then exit 0: that output can fail too
        if done.code:
            raise
        try:
            sys.stdout.flush()
        except OSError as exc:
            return _output_failed(exc)
        return OK
    except OSError as exc:
        return _output_failed(exc)
    try:
        code: int = args.handler(args)
        sys.stdout.flush()  # a full disk or a closed pipe must fail here, with a message
        return code
    except Exception as exc:
        return _failed(args, exc)


def _failed(args: argparse.Namespace, exc: Exception) -> int:
    """Report what went wrong in one line per problem, and exit 2."""
    from specops.spec.problems import SpecError

    if args.traceback:
        traceback.print_exception(exc)
    try:
        if isinstance(exc, SpecError):
            if args.format == "json":
                problems = [{**p.__dict__, "file": printable(p.file)} for p in exc.problems]
                _print_json({"valid": False, "problems": problems})
                sys.stdout.flush()
            for line in exc.lines():
                _say(line)
            return USAGE
    except OSError as output_error:
        exc = output_error
    if isinstance(exc, OSError) and exc.errno in _OUTPUT_ERRORS:
        return _output_failed(exc)
    if isinstance(exc, MemoryError):
        _say("specops: error: out of memory")
        return USAGE
    # A defect in specops: still one line, and the traceback on request.
    hint = "" if args.traceback else "; run with --traceback to see where"
    _say(f"specops: error: internal error: {printable(repr(exc))}{hint}")
    return USAGE


def _output_failed(exc: OSError) -> int:
    _drop_stdout()
    # A reader that stops early (`| head`) is no news to the user; the exit code still fails closed.
    if exc.errno != errno.EPIPE:
        _say(f"specops: error: cannot write the output: {exc.strerror}")
    return USAGE


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush at exit cannot fail again
    on what is still buffered."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
