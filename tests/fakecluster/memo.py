"""`once_cache`: an LRU cache whose misses are computed once even when many threads ask together.

The server answers 16 concurrent requests; with a bare `lru_cache` every one of them that misses
renders the same 12 MB mesh view in parallel (GIL-serialized: 16× the CPU and 16 transient
copies). Here the first caller computes while the others wait for its result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def once_cache(maxsize: int) -> Callable[[F], F]:
    """Like `lru_cache(maxsize)`, serialised per function: use it for costly renders with few keys.

    One lock per function (not per key) keeps it simple and deadlock-free as long as a cached
    function never calls itself; a hit waits at most for one miss in progress.
    """

    def wrap(fn: F) -> F:
        cached = lru_cache(maxsize=maxsize)(fn)
        lock = threading.Lock()

        @wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return cached(*args, **kwargs)

        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return wrap
