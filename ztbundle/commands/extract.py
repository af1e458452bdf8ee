"""`ztbundle extract BUNDLE [--ztunnel POD] DIR`: write a validated bundle's members under DIR only.

The bundle is read and validated by the same reader as `analyze` before anything is written.
Writing never trusts the file system under DIR either: each directory is opened relative to
its parent with O_NOFOLLOW, so a symlink planted in DIR is refused rather than followed, and
each file is written to a fresh temporary name and renamed into place, so an existing link
(soft or hard) at the target name is replaced, never written through. The whole plan (every
path, every file DIR already has, the total size) is checked before the first byte is written;
existing files are replaced only with `--force`.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import stat
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path

from analyzer.text import printable_line
from ztbundle.commands._args import add_bundle, add_limit_scale, unknown_name
from ztbundle.errors import UsageError
from ztbundle.exits import Exit

EPILOG = """examples:
  # every member, as collected, under ./out (files 0600, directories 0700)
  ztbundle extract bundle.tar.gz out

  # only one ztunnel: its config_dump, metrics and logs, and istiod's view of it
  ztbundle extract bundle.tar.gz --ztunnel ztunnel-x7k2p out"""

_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class ExtractError(UsageError):
    """The target directory cannot be written safely (exit 2: the DIR argument is the problem)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "extract",
        help="write a bundle's members, validated, under a directory",
        description="validate a bundle like `analyze` does, then write its members as collected under DIR",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    p.add_argument("dir", type=Path, help="target directory (created if missing; nothing is written outside)")
    p.add_argument("--ztunnel", metavar="POD", help="only this ztunnel's files and istiod's view of it")
    p.add_argument("--force", action="store_true", help="replace files DIR already has (never via a link)")
    add_limit_scale(p)
    p.set_defaults(run=run)


def ztunnel_members(names: Iterable[str], pod: str) -> list[str]:
    """The members that belong to one ztunnel: its own folder and istiod's per-proxy views of it."""
    from ztbundle import layout

    own = f"ztunnel/{pod}/"
    return [
        n
        for n in names
        if n.startswith(own) or ((v := layout.parse_istiod_proxy(n)) is not None and v[1] == pod)
    ]


def _parts(target: Path, member: str) -> tuple[str, ...]:
    parts = tuple(member.split("/"))
    if not all(_SAFE_SEGMENT.match(p) for p in parts):  # the reader checked; this is the writer's own guard
        raise ExtractError(f"{target}: refusing unsafe member path {member!r}")
    return parts


def _open_dir(parent_fd: int, name: str, shown: Path) -> int:
    """Open (creating 0700 if missing) `name` below `parent_fd` without following a symlink."""
    try:
        os.mkdir(name, 0o700, dir_fd=parent_fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ExtractError(f"{shown}: cannot create directory: {exc.strerror or exc}") from None
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if os.path.islink(shown):
            raise ExtractError(f"{shown}: refusing to follow a symbolic link") from None
        raise ExtractError(f"{shown}: not a directory we can write into: {exc.strerror or exc}") from None


def _write_file(dir_fd: int, name: str, chunks: Iterable[bytes], shown: Path) -> None:
    """Write to a fresh 0600 temporary name, then rename over `name`: no existing link is written through."""
    if _is_link(dir_fd, name):
        raise ExtractError(f"{shown}: refusing to follow a symbolic link")
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, _FILE_FLAGS, 0o600, dir_fd=dir_fd)
    except OSError as exc:
        raise ExtractError(f"{shown}: cannot create: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # a umask can only narrow O_CREAT's mode; be exact
            for chunk in chunks:  # a recipe's pieces one by one: never the rebuilt file in memory
                out.write(chunk)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise ExtractError(f"{shown}: cannot write: {exc.strerror or exc}") from None


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ExtractError(f"{path}: cannot inspect: {exc.strerror or exc}") from None


def _plan(target: Path, names: Sequence[str], force: bool) -> tuple[Path, list[tuple[str, ...]], int]:
    """Check every path before anything is written; return (root, parts per name, files to replace).

    Refused up front: an unsafe member path, a path resolving outside DIR, a symbolic link at any
    directory or file DIR already has on a path, and (without `force`) any file already there.
    """
    root = target.resolve()
    plan = [_parts(target, n) for n in names]
    existing: list[Path] = []
    checked: set[tuple[str, ...]] = set()
    for parts in plan:
        for depth in range(1, len(parts) + 1):
            if parts[:depth] in checked:
                continue
            checked.add(parts[:depth])
            here = root.joinpath(*parts[:depth])
            st = _lstat(here)
            if st is None:
                break  # nothing below a missing directory exists yet
            if stat.S_ISLNK(st.st_mode):
                raise ExtractError(f"{here}: refusing to follow a symbolic link")
            if depth < len(parts) and not stat.S_ISDIR(st.st_mode):
                raise ExtractError(f"{here}: not a directory we can write into")
            if depth == len(parts):
                existing.append(here)
        dest = root.joinpath(*parts)
        if not dest.resolve().is_relative_to(root):
            raise ExtractError(f"{dest}: resolves outside {root}; refusing to write")
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ExtractError(f"{existing[0]}: already exists{more}; refusing to overwrite without --force")
    return root, plan, len(existing)


def write_members(
    target: Path, members: Sequence[tuple[str, bytes | Sequence[bytes]]], *, force: bool = False
) -> list[Path]:
    """Write (member path, bytes or chunks) pairs under `target` and nowhere else; return the files written.

    The whole plan is checked before the first write (`_plan`). Then `target` is created (0700)
    and directories are walked by file descriptor without following symlinks, so the check
    cannot be raced by a link created afterwards either. Members are written in path order and
    only the directories on the current path are open: a bundle of any number of ztunnels needs
    a handful of file descriptors.
    """
    order = sorted(range(len(members)), key=lambda i: members[i][0].split("/"))
    root, plan, _ = _plan(target, [members[i][0] for i in order], force)
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = target.resolve(strict=True)
    written = []
    open_dirs: list[tuple[tuple[str, ...], int]] = [((), os.open(root, _DIR_FLAGS))]
    try:
        for i, parts in zip(order, plan, strict=True):
            data = members[i][1]
            while len(open_dirs[-1][0]) >= len(parts) or parts[: len(open_dirs[-1][0])] != open_dirs[-1][0]:
                os.close(open_dirs.pop()[1])
            for depth in range(len(open_dirs), len(parts)):
                fd = _open_dir(open_dirs[-1][1], parts[depth - 1], root.joinpath(*parts[:depth]))
                open_dirs.append((parts[:depth], fd))
            dest = root.joinpath(*parts)
            _write_file(open_dirs[-1][1], parts[-1], (data,) if isinstance(data, bytes) else data, dest)
            written.append(dest)
    finally:
        for _, fd in reversed(open_dirs):
            os.close(fd)
    return written


def run(args: argparse.Namespace) -> Exit:
    from analyzer.bundle import open_bundle
    from analyzer.errors import BundleError
    from analyzer.limits import DEFAULT

    limits = DEFAULT.scaled(args.limit_scale)
    files = open_bundle(args.bundle, limits)  # validates everything first
    names = sorted(files.names())
    if args.ztunnel:
        names = ztunnel_members(names, args.ztunnel)
        if not names:
            have = {n.split("/")[1] for n in files.names() if n.startswith("ztunnel/")}
            what = "ztunnel pod in the bundle"
            raise UsageError(f"{files.path}: {unknown_name('--ztunnel', args.ztunnel, have, what)}")
    piece_bytes = getattr(files.members, "piece_bytes", None)
    members: list[tuple[str, Sequence[bytes]]] = []
    for n in names:
        pieces = piece_bytes(n) if piece_bytes is not None else None
        members.append((n, (files.read(n),) if pieces is None else tuple(p for _, p in pieces)))
    total = sum(len(c) for _, chunks in members for c in chunks)
    if total > limits.max_total_bytes:
        raise BundleError(
            files.path,
            None,
            f"extracting would write {total} bytes, over the {limits.max_total_bytes}-byte limit "
            "(--limit-scale raises it)",
        )
    replaced = _plan(args.dir, [n for n, _ in members], args.force)[2] if args.dir.exists() else 0
    written = write_members(args.dir, members, force=args.force)
    note = f" (replaced {replaced} existing)" if replaced else ""
    print(f"extracted {len(written)} file(s), {total} bytes, to {printable_line(str(args.dir))}{note}")
    return Exit.OK
