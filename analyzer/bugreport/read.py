"""Recognise an istioctl bug-report and read it safely: a tar's members, or an extracted directory.

A tar is read by `analyzer.bundle`'s reader (same limits, same one-line rejections); the only
difference is that a name segment may contain `?`, `=` and `&`, because istioctl names files after
the admin URL it fetched (`proxies/<ns>/<pod>/config_dump?include_eds`). A directory is walked by
file descriptor without following any link: a symbolic or hard link, a device or a FIFO anywhere
under it is rejected, exactly like such a tar member, and the same size and count limits apply.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from analyzer.errors import BundleError
from analyzer.limits import Limits

CheckName = Callable[[Path, str], str]
"""The bundle reader's member-name check (with `NAME_SEGMENT`), raising BundleError."""
Laid = tuple[dict[str, bytes], dict[str, Any]]
"""Members at their logical paths and the synthesized manifest: what `BundleFiles` is made of."""

NAME_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._?=&-]*$")
"""A bug-report member name segment: the bundle reader's, plus the query characters of admin URLs."""

PREFIX = "bug-report/"
"""istioctl's archive root when it used its own temporary directory (no `--dir`)."""

# Names only istioctl writes: a ztbundle bundle that lost its manifest must not pass for a bug-report.
_OWN = frozenset({"versions", "bug-report.log", "cluster/k8s-resources", "cluster/k8s-cluster-resources"})
_OWN_PATTERN = re.compile(r"^(proxies/[^/]+/[^/]+/|istio/[^/]+/[^/]+/|cni/[^/]+/cni\.log$)")
_MAX_DEPTH = 16
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def strip_prefix(members: Mapping[str, bytes]) -> dict[str, bytes]:
    """The members below `bug-report/` when every member is there, else as they are."""
    if members and all(n.startswith(PREFIX) for n in members):
        return {n[len(PREFIX) :]: b for n, b in members.items()}
    return dict(members)


def recognise(members: Mapping[str, bytes]) -> bool:
    """Whether the member names show istioctl bug-report's layout (with or without the prefix)."""
    names = strip_prefix(dict.fromkeys(members, b""))
    return any(n in _OWN or _OWN_PATTERN.match(n) for n in names)


def from_members(path: Path, members: Mapping[str, bytes], limits: Limits) -> Laid:
    """The archive's members as a ztbundle bundle (logical paths, synthesized manifest)."""
    from analyzer.bugreport.build import build  # YAML and the layout are loaded for bug-reports only

    prefixed = bool(members) and all(n.startswith(PREFIX) for n in members)
    try:
        return build(path, strip_prefix(members), limits, prefixed=prefixed)
    except BundleError as err:  # name the member as the archive does
        if not (prefixed and err.member and f"{PREFIX}{err.member}" in members):
            raise
        raise BundleError(path, f"{PREFIX}{err.member}", err.problem) from None


def open_directory(path: Path, limits: Limits, check_name: CheckName) -> Laid:
    """Read an extracted bug-report (the `bug-report` directory or the one holding it) safely."""
    try:
        root_fd = os.open(path, _DIR & ~os.O_NOFOLLOW)  # the argument itself may be a link; nothing below
    except OSError as exc:
        raise BundleError(path, None, f"cannot read: {exc.strerror or exc}") from None
    members: dict[str, bytes] = {}
    try:
        _walk(path, root_fd, "", members, limits, check_name, [0, 0])
    finally:
        os.close(root_fd)
    if not recognise(members):
        raise BundleError(
            path,
            None,
            "is a directory but not an extracted istioctl bug-report (no versions, cluster/k8s-resources, "
            "proxies/ or istio/ in it); pass a bundle's .tar.gz",
        )
    return from_members(path, members, limits)


def _walk(
    bundle: Path,
    dir_fd: int,
    prefix: str,
    out: dict[str, bytes],
    limits: Limits,
    check_name: CheckName,
    seen: list[int],
) -> None:
    """Read every regular file below `dir_fd` into `out`; `seen` is [members, total bytes]."""
    if prefix.count("/") >= _MAX_DEPTH:
        raise BundleError(bundle, prefix.rstrip("/"), f"directories nested deeper than {_MAX_DEPTH} levels")
    for name in sorted(os.listdir(dir_fd)):
        rel = f"{prefix}{name}"
        check_name(bundle, rel)
        seen[0] += 1
        if seen[0] > limits.max_members:
            raise BundleError(bundle, None, f"more than {limits.max_members} members")
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            raise BundleError(bundle, rel, "symbolic link members are not allowed")
        if stat.S_ISDIR(st.st_mode):
            sub = _open(bundle, rel, name, dir_fd, _DIR)
            try:
                _walk(bundle, sub, f"{rel}/", out, limits, check_name, seen)
            finally:
                os.close(sub)
            continue
        if not stat.S_ISREG(st.st_mode):
            raise BundleError(bundle, rel, "only regular files are allowed")
        if st.st_nlink > 1:
            raise BundleError(bundle, rel, "hard link members are not allowed")
        out[rel] = _read_file(bundle, rel, name, dir_fd, st, limits, seen)


def _open(bundle: Path, rel: str, name: str, dir_fd: int, flags: int) -> int:
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:  # swapped for a link or a special file since it was listed
        raise BundleError(bundle, rel, f"cannot open safely: {exc.strerror or exc}") from None


def _read_file(
    bundle: Path, rel: str, name: str, dir_fd: int, st: os.stat_result, limits: Limits, seen: list[int]
) -> bytes:
    if st.st_size > limits.max_member_bytes:
        raise BundleError(
            bundle, rel, f"member is {st.st_size} bytes, over the {limits.max_member_bytes}-byte limit"
        )
    seen[1] += st.st_size
    if seen[1] > limits.max_total_bytes:
        raise BundleError(bundle, rel, f"bundle expands beyond {limits.max_total_bytes} bytes")
    fd = _open(bundle, rel, name, dir_fd, _FILE)
    with os.fdopen(fd, "rb") as f:
        now = os.fstat(f.fileno())
        if not stat.S_ISREG(now.st_mode) or (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev):
            raise BundleError(bundle, rel, "changed while being read (not the file that was listed)")
        data = f.read(st.st_size + 1)
    if len(data) != st.st_size:
        raise BundleError(bundle, rel, "changed size while being read")
    return data
