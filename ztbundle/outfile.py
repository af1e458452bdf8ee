"""Write an output file without ever writing through a link planted at its name.

A report's default path (`<bundle>.report.html`) sits beside a bundle that may have come from a
stranger, in a directory others may write to. A symbolic link there is refused; anything else is
written to a fresh name in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW) and renamed over the
target, so an existing hard link is replaced, never written through. A character device or FIFO
the user names (`-o /dev/null`) is written to as it is: replacing it would be worse.
"""

from __future__ import annotations

import os
import secrets
import stat
from contextlib import suppress
from pathlib import Path

from ztbundle.errors import UsageError

_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def write_file(path: Path, data: bytes, what: str = "file", mode: int = 0o666) -> None:
    """Write `data` to `path` (its mode `mode` less the umask); one-line UsageError on any failure."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what}: {exc.strerror or exc}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path}: is a symbolic link; refusing to write the {what} through it")
    if st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        _write_fd(path, os.open(path, os.O_WRONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)), data, what)
        return
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, _NEW, mode)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what}: {exc.strerror or exc}") from None
    try:
        _write_fd(path, fd, data, what)
        os.replace(tmp, path)
    except (OSError, UsageError) as exc:
        with suppress(OSError):
            tmp.unlink()
        if isinstance(exc, UsageError):
            raise
        raise UsageError(f"{path}: cannot write {what}: {exc.strerror or exc}") from None


def _write_fd(path: Path, fd: int, data: bytes, what: str) -> None:
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what}: {exc.strerror or exc}") from None
