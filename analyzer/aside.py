"""Work done beside the main path, in a forked child, so that analyze uses a second core.

`Aside(fn)` forks: the child computes `fn()` and sends the pickled value through a pipe while the
parent goes on with its own work, and `result()` returns that value. The child is only a way to
overlap work, never a different answer: where fork is unsafe or missing (another thread is running,
which a fork would leave holding its locks; a platform without fork) or the child fails in any way
(an exception, a signal, a value that does not unpickle), `result()` computes `fn()` in the calling
process, so the outcome, a value or an exception, is the serial run's.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["Aside"]


class Aside(Generic[T]):
    """`fn()` computed in a child process from now on; `result()` waits for it (use as a context)."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._pid: int | None = None
        self._pipe: int | None = None
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, send, and leave without running the parent's exit handlers
            os.close(read)
            code = 1
            try:
                data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self._pid, self._pipe = pid, read

    def result(self) -> T:
        if self._pid is None or self._pipe is None:
            return self._fn()
        with os.fdopen(self._pipe, "rb") as pipe:
            self._pipe = None
            data = pipe.read()  # before waiting: a child blocked on a full pipe would never exit
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.waitstatus_to_exitcode(status) == 0:
            with contextlib.suppress(Exception):
                value: T = pickle.loads(data)
                return value
        return self._fn()

    def __enter__(self) -> Aside[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        """A child whose value was not asked for (the parent failed first) is stopped and reaped."""
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, 9)
            os.waitpid(self._pid, 0)
            self._pid = None
