"""Parse untrusted JSON within bounds: nesting depth, object count and density, finite numbers.

Every rejection is a `BundleError(bundle, member, problem)` naming the member.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from analyzer.errors import BundleError
from analyzer.limits import DEFAULT


def parse_json(
    bundle: Path | str,
    member: str,
    text: str,
    max_depth: int = DEFAULT.max_json_depth,
    max_containers: int = DEFAULT.max_json_containers,
) -> Any:
    """Parse JSON text, raising BundleError naming the member on bad syntax, excess depth or size.

    Bounded before parsing: nesting depth, and the number of objects and arrays (`{}` is 2 bytes
    of text but ~100 of memory). Numbers that overflow a float (`1e999`) and NaN/Infinity are
    refused; a lone UTF-16 surrogate escape (`"\\ud800"`) becomes U+FFFD, as it cannot be encoded.
    """
    _check_containers(bundle, member, text, max_containers)  # first: it costs no memory, the depth pass does
    _check_depth(bundle, member, text, max_depth)
    try:
        # 1.19-1.21 dumps repeat `by_hostname`; json.loads keeps the last one (where the first one
        # stood), deliberately. An `object_pairs_hook=dict` does the same at ~18% more cost.
        doc = _DECODER.decode(text) if type(text) is str and not text.startswith("\ufeff") else _loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(
            bundle, member, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise BundleError(bundle, member, "JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal over Python's 4300-digit conversion limit
        raise BundleError(bundle, member, f"invalid JSON: {str(exc).split(';')[0][:160]}") from None
    return _no_surrogates(doc) if "\\u" in text and _SURROGATE_ESCAPE.search(text) else doc


def _loads(text: str) -> Any:
    """json.loads as `parse_json` calls it: its BOM and type checks, then a decoder made per call."""
    return json.loads(text, parse_float=_finite, parse_constant=_no_constant)


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {literal[:40]} is out of range")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


# What `_loads` builds for each call, made once: ~30k entry texts at 1,000 nodes are parsed one by one.
_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(doc: Any) -> Any:
    """Replace lone surrogates (json.loads already joined every valid pair) with U+FFFD."""
    if isinstance(doc, str):
        return _SURROGATE.sub("\ufffd", doc)
    if isinstance(doc, list):
        return [_no_surrogates(v) for v in doc]
    if isinstance(doc, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in doc.items()}
    return doc


_DENSE_FLOOR = 100_000  # containers below which density is not judged
_MIN_BYTES_PER_CONTAINER = 8  # real Kubernetes and Istio JSON has one object or array per ~70+ bytes


def _check_containers(bundle: Path | str, member: str, text: str, max_containers: int) -> None:
    """Reject more objects + arrays than max_containers, or a flood of them (`{},{},...`).

    Each costs ~100 bytes of memory and, as a list item, a model object and rule work: 200 MiB
    of `{}` is 70 million of them. Counted at C speed; brackets inside strings are removed (an
    exact count) only when the fast count is over.
    """
    fast = text.count("{") + text.count("[")
    if fast <= max_containers and (fast <= _DENSE_FLOOR or fast * _MIN_BYTES_PER_CONTAINER <= len(text)):
        return
    bare = _STRING.sub("", text)
    count = bare.count("{") + bare.count("[")
    if count > max_containers:
        raise BundleError(bundle, member, f"JSON has more than {max_containers} objects and arrays")
    if count > _DENSE_FLOOR and count * _MIN_BYTES_PER_CONTAINER > len(text):
        raise BundleError(
            bundle,
            member,
            f"JSON has {count} objects and arrays in {len(text)} bytes (a flood of empty ones?)",
        )


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def _brackets(text: str) -> bytes:
    """Only the brackets of `text`, in order. In UTF-8 every byte of a non-ASCII character is over
    0x7f, so deleting every other byte value keeps exactly the four ASCII brackets, at C speed
    (a regex deleting the runs between them took ~10x longer on a 1,000-node bundle)."""
    return text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET)


def _check_depth(bundle: Path | str, member: str, text: str, max_depth: int) -> None:
    """Reject nesting deeper than max_depth before json.loads recurses.

    Each regex pass deletes the innermost bracket pairs, i.e. one nesting level, at C speed. The
    fast pass counts brackets inside strings too (IPv6 `[::1]` adds at most one level); only when
    it sees too much depth is the exact pass, with strings removed, run. Unbalanced leftovers are
    json.loads' to report (its own recursion guard still bounds a hostile document).
    """
    if _too_deep(_brackets(text), max_depth) and _too_deep(_brackets(_STRING.sub("", text)), max_depth):
        raise BundleError(bundle, member, f"JSON nested deeper than {max_depth} levels")


def _too_deep(brackets: bytes, max_depth: int) -> bool:
    for _ in range(max_depth):
        if not brackets:
            return False
        brackets = _innermost_removed(brackets)
    return bool(brackets) and not _unbalanced(brackets)


def _innermost_removed(brackets: bytes) -> bytes:
    """Every `[]` and `{}` of `brackets` deleted, none that deleting them forms (`{[]}` keeps `{}`).

    What one regex pass of `\\[\\]|\\{\\}` deletes: the two never overlap, so that is every occurrence
    of each. A `_` holds each `[]`'s place while the `{}` go, so none forms; at memchr speed."""
    return brackets.replace(b"[]", b"_").replace(b"{}", b"").replace(b"_", b"")


def _unbalanced(brackets: bytes) -> bool:
    return brackets.count(b"[") != brackets.count(b"]") or brackets.count(b"{") != brackets.count(b"}")
