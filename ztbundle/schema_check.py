"""The manifest schema check, compiled once: the collector's write-time and the analyzer's read-time check.

`manifest_accepts` runs code compiled from `layout.manifest_schema()` by fastjsonschema: 0.15 s for
a 1,000-node manifest where jsonschema walks it in 1.7 s. It is trusted only to accept
(tests/analyzer/test_manifest_schema.py: never where jsonschema does not); whatever it rejects goes
to jsonschema, which decides and names the error (`validate_manifest`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ztbundle import layout

_LOCK = threading.Lock()
_CHECK: list[Callable[[Any], Any]] = []  # the compiled check, once there is one


def _compiled() -> Callable[[Any], Any]:
    with _LOCK:  # a compile already under way (`compile_ahead`) is waited for, not repeated
        if not _CHECK:
            import fastjsonschema

            _CHECK.append(fastjsonschema.compile(layout.manifest_schema()))
        return _CHECK[0]


def compile_ahead() -> None:
    """Compile the check on a helper thread now, for a caller about to wait on the network.

    The compile (~65 ms of Python) then runs while the caller's requests are in flight, instead of
    after its last one, where the collector renders its manifest.
    """
    threading.Thread(target=_compiled, name="ztbundle-schema-compile", daemon=True).start()


def manifest_accepts(manifest: Any) -> bool:
    """Whether the manifest schema accepts `manifest`; False means "ask jsonschema", not "invalid"."""
    try:
        _compiled()(manifest)
    except Exception:  # noqa: BLE001 - its JsonSchemaException, or anything odd: jsonschema decides
        return False
    return True


def validate_manifest(manifest: Any) -> None:
    """Raise jsonschema's ValidationError when the manifest schema rejects `manifest`."""
    if manifest_accepts(manifest):
        return
    import jsonschema

    jsonschema.validate(manifest, layout.manifest_schema())
