"""The manifest schema check, compiled once: the collector's write-time and the analyzer's read-time check.

`manifest_accepts` runs code compiled from `layout.manifest_schema()` by fastjsonschema: 0.15 s for
a 1,000-node manifest where jsonschema walks it in 1.7 s. It is trusted only to accept
(tests/analyzer/test_manifest_schema.py: never where jsonschema does not); whatever it rejects goes
to jsonschema, which decides and names the error (`validate_manifest`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ztbundle import layout


@functools.cache
def _compiled() -> Callable[[Any], Any]:
    import fastjsonschema

    return fastjsonschema.compile(layout.manifest_schema())


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
