"""Redact credentials from a fetched body before the writer sees it: the runner's hook, per kind of body.

JSON (ztunnel config_dump, Kubernetes lists, the mesh ConfigMap) is redacted by field and by string
(`collector.redact_json`), member by member where the body's layout is known and with the run's
memos (`collector.runcache`), and only once its bytes show something to redact. A body is
re-serialised, in its original style, only when something was redacted; otherwise its bytes stay
exactly as received. A JSON body that does not parse (truncated) but shows a field that needs
structural redaction is withheld: we cannot tell which bytes are the secret, and a secret must never
enter a bundle.

Text (logs, metrics) that the leak scan (`collector.leakscan`) finds clean is stored as it came, and
once, not twice: the writer trusts that scan. Other text, and our own log, goes through
`collector.redact_text`'s patterns, line by line.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from collector import leakscan, members
from collector.body import Body
from collector.redact_json import Walker, needs_walk, strings_may_match
from collector.redact_text import (
    OVERLAP,
    Outcome,
    Reason,
    Redaction,
    mask,
    redact_stream,
    triggered,
)
from collector.runcache import RunCache, Walked
from ztbundle import layout

_TOP_KEY = layout.TOP_KEY_BYTES


def _serialise_like(doc: Any, original_head: bytes, trailing_newline: bool) -> bytes:
    """Re-serialise in the style received: ztunnel pretty-prints (2 spaces), our merged lists are compact."""
    pretty = original_head.lstrip()[:2] in (b"{\n", b"[\n", b"{\r")
    text = (
        json.dumps(doc, indent=2, ensure_ascii=False)
        if pretty
        else json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    )
    return text.encode("utf-8") + (b"\n" if trailing_newline else b"")


def _redact_json(path: str, body: Body, cache: RunCache, read: members.Read | None = None) -> Outcome:
    """Redact a JSON body; `read`: its bytes as the caller read them while holding `cache.parse_lock`."""
    if read is not None:
        return _redact_read(path, body, read, cache)
    with cache.parse_lock:  # also the only time a spooled body is fully in memory
        return _redact_read(path, body, members.Read(body.read_bytes(), cache.known), cache)


def _redact_read(path: str, body: Body, read: members.Read, cache: RunCache) -> Outcome:
    data = read.data
    if read.split is not None:
        outcome = _redact_by_member(path, body, read, cache)
        if outcome is not None:
            return outcome
    key = body.sha256_from(data) if body.size >= members.MEMO_MIN else None
    if key and cache.clean_bodies.get((key,)):
        return Outcome(body, ())
    if not triggered(data) and not needs_walk(data):
        if key:
            cache.clean_bodies.put((key,), True)
        return Outcome(body, ())
    return _redact_whole(path, body, data)


def _member_triggers(data: bytes, m: members.Member, digest: bytes | None, cache: RunCache) -> bool:
    known = cache.triggered.get((m.key, digest)) if digest else None
    if known is not None:
        return known[0]
    raw = data[m.start : m.stop]
    hit = triggered(raw) or needs_walk(raw)
    if digest:
        cache.triggered.put((m.key, digest), (hit,))
    return hit


def _redact_by_member(path: str, body: Body, read: members.Read, cache: RunCache) -> Outcome | None:
    """Redact a pretty-printed object one top-level member at a time; None falls back to the whole body.

    As on the whole-body path, nothing is walked unless a trigger shows somewhere in the body (here:
    in a member, or across a member boundary); then every member is walked, and only the members
    that changed are re-serialised, so the others keep their received bytes.
    """
    data, split, digests = read.data, read.split, read.digests()
    assert split is not None
    if not any(_member_triggers(data, m, d, cache) for m, d in zip(split, digests, strict=True)):
        edges = [m.start for m in split] + [split[-1].stop]
        if not any(
            triggered(w) or needs_walk(w) for w in (data[max(0, at - OVERLAP) : at + OVERLAP] for at in edges)
        ):
            return Outcome(body, ())
    kind = next((m.value_text(data) for m in split if m.key == "kind"), None)
    try:
        kind_value = json.loads(kind) if kind else None
    except json.JSONDecodeError:
        return None
    counts: Counter[tuple[Reason, str | None]] = Counter()
    view = memoryview(data)  # unchanged members are written from the received bytes, never copied
    parts: list[bytes | memoryview] = [view[: split[0].start]]
    starts: list[int] = []  # where each member starts in the new body, for its `members.Layout`
    new_digests: list[bytes | None] = []
    at, laid_out = split[0].start, True
    for m, digest in zip(split, digests, strict=True):
        configmap_data = m.key == "data" and kind_value == "ConfigMap"
        key = (m.key, digest, configmap_data)
        walked = cache.walked.get(key) if digest else None
        if walked is None:
            walked = _walk_member(data, m, configmap_data)
            if walked is None:
                return None
            # Remembered unless it carries a big replacement: memory stays bounded, and secrets sit
            # in small members (`config`), so a big member that needs redaction is merely re-walked.
            if digest and (walked.text is None or len(walked.text) < members.MEMO_MIN):
                cache.walked.put(key, walked)
        counts.update(dict(walked.counts))
        starts.append(at)
        if walked.text is None:
            parts.append(view[m.start : m.stop])
            new_digests.append(digest)
        else:
            comma = "" if m.last else ","
            text = f"\n  {json.dumps(m.key, ensure_ascii=False)}: {walked.text}{comma}".encode()
            parts.append(text)
            new_digests.append(None)
            # Its only key match must be its own, at its start (the layout's promise): json.dumps
            # indents nested keys deeper and escapes newlines in strings, so it always is.
            laid_out = laid_out and _TOP_KEY.match(text) is not None and _TOP_KEY.search(text, 1) is None
        at += len(parts[-1])
    if not counts:
        return Outcome(body, ())
    parts.append(view[split[-1].stop :])
    new = Body.joined(parts, source=body)
    body.close()
    if laid_out:
        new.layout = members.Layout(tuple(starts), at, tuple(new_digests))
    return Outcome(new, records(path, counts))


def _walk_member(data: bytes, m: members.Member, configmap_data: bool) -> Walked | None:
    text = m.value_text(data)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    walker = Walker(texts=strings_may_match(data[m.start : m.stop]))
    parent = {"kind": "ConfigMap"} if configmap_data else {}
    value = walker.special(parent, m.key, value, m.key)  # the path `walk` gives a top-level member
    if not walker.counts:
        return Walked((), None)
    new_text = json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
    if json.loads(new_text) != value:  # what is stored must be the redacted value (NaN is never equal)
        return None
    return Walked(tuple(walker.counts.items()), new_text)


def _redact_whole(path: str, body: Body, data: bytes) -> Outcome:
    """Parse and walk the whole body (compact JSON, odd layouts); withhold it if it does not parse."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        if needs_walk(data):
            del data
            body.close()
            why = "withheld: not valid JSON, so fields that may hold credentials cannot be redacted"
            return Outcome(None, (Redaction(path, Reason.WITHHELD, None, 1),), why)
        del data
        return redact_stream(path, body)  # still text: the patterns apply
    walker = Walker(texts=strings_may_match(data))
    doc = walker.walk(doc, "")
    counts = walker.counts
    if not counts:
        return Outcome(body, ())
    new = Body.of(_serialise_like(doc, data[:8], data.endswith(b"\n")))
    body.close()
    return Outcome(new, records(path, counts))


def records(path: str, counts: Counter[tuple[Reason, str | None]]) -> tuple[Redaction, ...]:
    """Manifest records for one artifact's hits, in a stable order (rule, then field)."""
    ordered = sorted(counts.items(), key=lambda kv: (kv[0][0].value, kv[0][1] or ""))
    return tuple(Redaction(path, rule, field or None, n) for (rule, field), n in ordered)


def redact_page(page: dict[str, Any]) -> tuple[list[Any], Counter[tuple[Reason, str | None]]]:
    """Redact one List page in place, every string included; return its items and the hits.

    Field paths are the merged List's (`items[].metadata...`), so pages add up to one artifact's record.
    """
    walker = Walker()
    items = page.pop("items", None) or []
    walker.walk(page, "")
    walker.walk(items, "items")
    return items, walker.counts


def redact_body(
    path: str, body: Body, *, is_json: bool, cache: RunCache | None = None, read: members.Read | None = None
) -> Outcome:
    """Redact one fetched body for member `path`; cheap when nothing needs it (JSON: a byte prefilter;
    text: the leak scan's verdict).

    `cache` is the run's (see `collector.runcache`); without one, nothing is remembered. `read`: a JSON
    body's bytes as the caller read them while holding that cache's parse lock (the runner's check
    and this redaction share one read).
    """
    if is_json:
        return _redact_json(path, body, cache or RunCache(), read)
    # Text (logs, metrics) is judged by the leak scan itself: clean, it is stored as it came, and the
    # writer need not scan it again; else it is redacted line by line, and the writer scans the result.
    if leakscan.scan_body(body) is None:
        body.leak_free = True
        return Outcome(body, ())
    return redact_stream(path, body)


def apply(
    path: str,
    body: Body | None,
    error: str | None,
    *,
    is_json: bool,
    cache: RunCache | None = None,
    read: members.Read | None = None,
) -> tuple[Body | None, tuple[Redaction, ...], str | None]:
    """The runner's hook: redact a fetched body and its error message before the writer sees them."""
    error = mask(error)
    if body is None:
        return None, (), error
    outcome = redact_body(path, body, is_json=is_json, cache=cache, read=read)
    if outcome.withheld:
        error = f"{error}; {outcome.withheld}" if error else outcome.withheld
    return outcome.body, outcome.redactions, error


def redact_bytes(path: str, data: bytes) -> tuple[bytes, tuple[Redaction, ...]]:
    """Pattern-redact an in-memory text member (our own log)."""
    if not triggered(data, text=True):
        return data, ()
    outcome = redact_stream(path, Body.of(data))
    assert outcome.body is not None
    return outcome.body.read_bytes(), outcome.redactions
