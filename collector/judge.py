"""Judge a fetched JSON body: where it stops being valid JSON, and the Istio version it shows.

The runner's workers call this under the run's parse lock (`collector.runcache`), on the bytes the
redactor then reads too; a member or body already judged in the run is not parsed again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from collector import members
from collector.body import Body
from collector.runcache import RunCache


def judge_json(
    body: Body | bytes,
    version_of: Callable[[Any], str | None] | None,
    kind: object = None,
    cache: RunCache | None = None,
) -> tuple[str | None, str | None]:
    """Return (where the body stops being valid JSON, in bytes, or None; the version seen).

    A pretty-printed object is judged member by member, and a big member (or a big compact body of the
    same `kind`) already judged in this run is not parsed again: at 1,000 ztunnels that is 1,000
    identical 12 MB `workloads` members. Only an invalid body is parsed whole, for the exact offset.
    """
    cache = cache or RunCache()
    # One big parse at a time, the redactor's included; also the only time a spooled body is in memory.
    with cache.parse_lock:
        read = members.Read(body.read_bytes() if isinstance(body, Body) else body, cache.known)
        return judge_read(read, body, version_of, kind, cache)


def judge_read(
    read: members.Read,
    body: Body | bytes,
    version_of: Callable[[Any], str | None] | None,
    kind: object,
    cache: RunCache,
) -> tuple[str | None, str | None]:
    """`judge_json` on a body already read (the caller holds `cache.parse_lock`)."""
    data = read.data
    if read.split is not None:
        parsed = _parse_members(read, cache)
        if parsed is not None:
            return None, version_in(version_of, parsed)
    key = (kind, body.sha256_from(data)) if isinstance(body, Body) and body.size >= members.MEMO_MIN else None
    known = cache.valid_bodies.get(key) if key else None
    if known is not None:
        return None, known[0]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 at byte {exc.start}", None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        offset = len(text[: exc.pos].encode("utf-8"))
        return f"invalid JSON at byte {offset} (line {exc.lineno} column {exc.colno}): {exc.msg}", None
    del text, data
    version = version_in(version_of, doc)
    if key:
        cache.valid_bodies.put(key, (version,))
    return None, version


def _parse_members(read: members.Read, cache: RunCache) -> dict[str, Any] | None:
    """Every member's value parsed, except big ones already known valid; None when one is not JSON."""
    parsed: dict[str, Any] = {}
    assert read.split is not None
    for m, digest in zip(read.split, read.digests(), strict=True):
        if digest is not None and cache.valid_members.get((m.key, digest)):
            continue  # seen byte for byte before: valid, and not needed for the version
        text = m.value_text(read.data)
        if text is None:
            return None
        try:
            parsed[m.key] = json.loads(text)
        except json.JSONDecodeError:
            return None
        if digest is not None:
            cache.valid_members.put((m.key, digest), True)
    return parsed


def json_error(body: bytes) -> str | None:
    """Return where a body stops being valid JSON, in bytes, or None when it parses."""
    return judge_json(body, None)[0]


def version_in(version_of: Callable[[Any], str | None] | None, doc: Any) -> str | None:
    """What `version_of` reads in `doc`, or None (no reader, or a document not shaped as it expects)."""
    if version_of is None:
        return None
    try:
        return version_of(doc)
    except (ValueError, TypeError, AttributeError):
        return None
