"""Obtain the bytes of a model version and check them against dvc.lock.

The bytes come from the first place that has them: the local DVC cache, else a DVC remote of
the version's commit (pulled in a temporary checkout of that commit), else a reproduction of
the stage that writes the model in such a checkout. The checkout uses the project's cache, so
whatever it pulls or reproduces is cached for the next time.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from specops.deploy import CheckFailed
from specops.deploy.lock import Locked
from specops.registry.git import GitError, run_git

Source = Literal["cache", "remote", "reproduced"]
_HOW = {"cache": "the DVC cache", "remote": "the DVC remote", "reproduced": "reproduction"}


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cache_object(cache: Path, md5: str) -> Path:
    """Where DVC 3 keeps a file of that md5 below its cache folder."""
    return cache / "files" / "md5" / md5[:2] / md5[2:]


def remotes(config_text: str | None, dvc_dir: Path, file: str) -> dict[str, dict[str, str]]:
    """The remotes of a DVC config file and their options, a relative local `url` made
    absolute against `dvc_dir` (DVC reads it relative to the config file). `file` names the
    file in messages."""
    if not config_text:
        return {}
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(config_text)
    except configparser.Error as exc:
        raise CheckFailed(f"{file} cannot be read: {exc}") from exc
    found = {}
    for section in parser.sections():
        name = section.strip("'\"")
        if not name.startswith("remote "):
            continue
        remote = name.removeprefix("remote ").strip().strip('"')
        options = dict(parser.items(section))
        for key, value in options.items():
            if any(c < " " or c == "\x7f" for c in value):
                # It is copied into one line of the checkout's config, and must stay one.
                raise CheckFailed(
                    f"{file}: the {key} of remote {remote!r} holds a line break or a control "
                    "character"
                )
        url = options.get("url")
        if url and "://" not in url and not os.path.isabs(url):
            options["url"] = os.path.normpath(dvc_dir / url)
        found[remote] = options
    return found


def _dvc(cwd: Path, *args: str) -> None:
    """Run DVC of the environment specops runs in; a failure keeps DVC's words."""
    command = "dvc " + " ".join(args)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dvc", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "DVC_NO_ANALYTICS": "1"},
        )
    except OSError as exc:
        raise CheckFailed(f"`{command}` could not run: {exc}") from exc
    if proc.returncode != 0:
        said = " ".join((proc.stderr or proc.stdout).split()) or f"exit code {proc.returncode}"
        raise CheckFailed(f"`{command}` failed: {said}")


@contextlib.contextmanager
def checkout(root: Path, commit: str, workdir: Path) -> Iterator[Path]:
    """A detached worktree of `commit` below `workdir`, for as long as the context lasts;
    yields the project's folder in it."""
    tree = workdir / "checkout"
    try:
        prefix = run_git(root, "rev-parse", "--show-prefix").strip()
        run_git(root, "worktree", "add", "--quiet", "--detach", str(tree), commit)
    except GitError as exc:
        raise CheckFailed(str(exc)) from exc
    try:
        yield tree / prefix
    finally:
        with contextlib.suppress(GitError):
            run_git(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(tree, ignore_errors=True)
        with contextlib.suppress(GitError):
            run_git(root, "worktree", "prune")


def _no_links_out(workdir: Path, commit: str) -> None:
    """Fail when a symbolic link of the commit leads out of its checkout below `workdir`:
    DVC, or specops, would write where it points (a model's folder, `.dvc/config.local`)."""
    tree = workdir / "checkout"
    try:
        listing = run_git(tree, "ls-files", "--stage", "-z")
    except GitError as exc:
        raise CheckFailed(str(exc)) from exc
    for entry in listing.split("\0"):
        mode, _, path = entry.partition("\t")
        if not mode.startswith("120000 "):
            continue
        try:
            real: Path | None = (tree / path).resolve()
        except (OSError, RuntimeError):  # RuntimeError: a loop of links, before Python 3.13
            real = None
        if real is None or not real.is_relative_to(workdir.resolve()):
            raise CheckFailed(f"{path} at {commit[:12]} is a link that leads out of its checkout")


def obtain(
    root: Path,
    commit: str,
    locked: Locked,
    *,
    cache: Path,
    config_text: str | None,
    local_text: str | None,
    dest: Path,
) -> Source:
    """Copy the bytes of `locked` at `commit` to `dest`; returns where they came from.
    `cache` is the project's DVC cache folder, `config_text` the commit's `.dvc/config`,
    `local_text` the project's `.dvc/config.local` (a remote's URL or credentials there)."""
    if locked.is_dir:
        raise CheckFailed(
            f"{locked.path} is a directory; specops fetches and deploys models that are one file"
        )
    cached = cache_object(cache, locked.md5)
    if cached.is_file():
        shutil.copyfile(cached, dest)
        return "cache"
    if os.path.lexists(cached):  # a pipe, a device, a dangling link: DVC could wait on it
        raise CheckFailed(f"the DVC cache holds {cached}, which is not a file; remove it")
    dvc_dir = root / ".dvc"
    found = remotes(config_text, dvc_dir, ".dvc/config")
    local = remotes(local_text, dvc_dir, ".dvc/config.local")
    found = {name: options | local.get(name, {}) for name, options in found.items()}
    found = {name: options for name, options in found.items() if options.get("url")}
    with (
        tempfile.TemporaryDirectory(prefix="specops-checkout-") as workdir,
        checkout(root, commit, Path(workdir)) as project,
    ):
        # The checkout shares the project's cache, and reaches the remotes where the
        # project does: with the project's local settings over the commit's.
        _no_links_out(Path(workdir), commit)
        lines = ["[cache]", f"    dir = {cache}"]
        for name, options in found.items():
            lines.append(f"['remote \"{name}\"']")
            lines += [f"    {key} = {value}" for key, value in options.items()]
        settings = project / ".dvc" / "config.local"
        try:
            settings.parent.mkdir(exist_ok=True)
            settings.unlink(missing_ok=True)
            # O_EXCL and O_NOFOLLOW: a new file, never one a link points at. 0600: it may
            # hold the credentials of a remote.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            with os.fdopen(os.open(settings, flags, 0o600), "w") as handle:
                handle.write("\n".join(lines) + "\n")
        except OSError as exc:
            msg = f"cannot write .dvc/config.local in the checkout of {commit[:12]}"
            raise CheckFailed(f"{msg}: {exc.strerror}") from exc
        source: Source
        if found:
            _dvc(project, "pull", "--", locked.path)
            source = "remote"
        else:
            _dvc(project, "repro", "--", locked.stage)
            source = "reproduced"
        made = project / locked.path
        if not made.is_file():
            raise CheckFailed(f"{_HOW[source]} left no file at {locked.path}")
        shutil.copyfile(made, dest)
    return source


def verify(path: Path, locked: Locked, source: Source, where: str) -> None:
    """Fail unless the bytes at `path` have the md5 that `where` (a dvc.lock) records."""
    got = md5_of(path)
    if got != locked.md5:
        raise CheckFailed(
            f"{locked.path} obtained from {_HOW[source]} has md5 {got}, but {where} records "
            f"{locked.md5}"
        )


def install(tmp: Path, target: Path, *, force: bool) -> bool:
    """Put the verified file `tmp` (beside `target`) in place of `target`, durably; returns
    False when `target` holds those bytes already. Refuses to replace other bytes unless
    `force`. `tmp` is gone afterwards either way."""
    try:
        if target.exists() and not target.is_file():
            raise CheckFailed(f"{target} exists and is not a file")
        if target.is_file() and md5_of(target) == md5_of(tmp):
            return False
        if target.exists() and not force:
            raise CheckFailed(f"{target} exists with other bytes; use --force to replace it")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as a file the user wrote; mkstemp made it private
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a crash
    finally:
        os.close(folder)
    return True


def temporary_beside(target: Path) -> Path:
    """An empty temporary file next to `target`, named as render names its own."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".specops-tmp", dir=target.parent)
    os.close(fd)
    return Path(name)
