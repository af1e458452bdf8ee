"""One parser module per bundle source; each turns JSON/text into model objects and never does I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def parse_time(value: object) -> datetime | None:
    """RFC 3339 (`Z`, offsets, any fraction digits) → aware datetime; None when absent or unparsable."""
    if not isinstance(value, str) or not value:
        return None
    try:  # Python 3.11 reads `Z` and up to 9 fraction digits itself: the common case, in C
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, dot, frac = text.partition(".")
    if dot:  # Python ≤3.11 fromisoformat wants 3 or 6 fraction digits; Go/Rust print up to 9
        digits = "".join(c for c in frac if c.isdigit())
        text = f"{head}.{digits[:6].ljust(6, '0')}{frac[len(digits) :]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def as_map(value: object) -> Mapping[str, Any]:
    """A JSON object, or an empty mapping for anything else (absent, null, wrong type)."""
    if type(value) is dict:  # json.loads' own objects: isinstance(…, Mapping) goes through the ABC's hook
        return value
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[object]:
    """A JSON list, or the values of a JSON map (1.22 dumps use maps keyed by address)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return []


def pick(doc: Mapping[str, Any], *keys: str) -> Any:
    """The first of `keys` present and not null (one field, spelled differently across releases)."""
    for k in keys:
        if k in doc and doc[k] is not None:
            return doc[k]
    return None


def flat(value: Any) -> list[Mapping[str, Any]]:
    """Entries of a list or map, flattening one level of nested lists (legacy `by_host`)."""
    out: list[Mapping[str, Any]] = []
    for v in as_list(value):
        if isinstance(v, Mapping):
            out.append(v)
        elif isinstance(v, list):
            out.extend(x for x in v if isinstance(x, Mapping))
    return out
