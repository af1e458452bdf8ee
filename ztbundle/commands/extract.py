"""`ztbundle extract BUNDLE [--ztunnel POD] DIR`: write a validated bundle's members under DIR only.

The bundle is read and validated by the same reader as `analyze` before anything is written.
Writing never trusts the file system under DIR either: each directory is opened relative to
its parent with O_NOFOLLOW, so a symlink planted in DIR is refused rather than followed, and
each file is written to a fresh temporary name and renamed into place, so an existing link
(soft or hard) at the target name is replaced, never written through.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import stat
from collections.abc import Iterable
from contextlib import ExitStack, suppress
from pathlib import Path

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


def _parts(target: Path, member: str) -> list[str]:
    parts = member.split("/")
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


def _write_file(dir_fd: int, name: str, data: bytes, shown: Path) -> None:
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
            out.write(data)
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


def write_members(target: Path, members: Iterable[tuple[str, bytes]]) -> list[Path]:
    """Write (member path, bytes) pairs under `target` and nowhere else; return the files written.

    `target` is created (0700) if missing and resolved once; every member path is resolved
    against it and must stay inside; directories are walked by file descriptor without
    following symlinks, so the check cannot be raced by a link created afterwards either.
    """
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = target.resolve(strict=True)
    written = []
    with ExitStack() as stack:
        root_fd = os.open(root, _DIR_FLAGS)
        stack.callback(os.close, root_fd)
        dir_fds: dict[tuple[str, ...], int] = {(): root_fd}
        for member, data in members:
            parts = _parts(target, member)
            dest = root.joinpath(*parts)
            if not dest.resolve().is_relative_to(root):
                raise ExtractError(f"{dest}: resolves outside {root}; refusing to write")
            fd = root_fd
            for depth in range(1, len(parts)):
                key = tuple(parts[:depth])
                if key not in dir_fds:
                    dir_fds[key] = _open_dir(fd, parts[depth - 1], root.joinpath(*key))
                    stack.callback(os.close, dir_fds[key])
                fd = dir_fds[key]
            _write_file(fd, parts[-1], data, dest)
            written.append(dest)
    return written


def run(args: argparse.Namespace) -> Exit:
    from analyzer.bundle import open_bundle
    from analyzer.limits import DEFAULT

    files = open_bundle(args.bundle, DEFAULT.scaled(args.limit_scale))  # validates everything first
    names = sorted(files.names())
    if args.ztunnel:
        names = ztunnel_members(names, args.ztunnel)
        if not names:
            have = {n.split("/")[1] for n in files.names() if n.startswith("ztunnel/")}
            what = "ztunnel pod in the bundle"
            raise UsageError(f"{files.path}: {unknown_name('--ztunnel', args.ztunnel, have, what)}")
    written = write_members(args.dir, ((n, files.read(n)) for n in names))
    total = sum(len(files.read(n)) for n in names)
    print(f"extracted {len(written)} file(s), {total} bytes, to {args.dir}")
    return Exit.OK
