"""Redact credentials from a fetched body before the writer sees it: by field in JSON, by pattern in text.

JSON (ztunnel config_dump, Kubernetes lists, the mesh ConfigMap): `xdsHeaders`/`caHeaders` values,
credential-named `proxyMetadata` keys, ConfigMap `data` keys, every `{name, value}` pair named like a
credential (container `env`, probe `httpHeaders`, any other list of pairs), every key named like a
secret in any style (`SecretAccessKey`, `session_token`), and the
`kubectl.kubernetes.io/last-applied-configuration` annotation (it repeats env values verbatim). Every
other string goes through the text matchers of `collector.matchers`. A body is re-serialised, in its
original style, only when something was redacted; otherwise its bytes stay exactly as received.

Text (logs, metrics) that the leak scan (`collector.leakscan`) finds clean is stored as it came, and
once, not twice: the writer trusts that scan. Other text, and our own log, goes through
`collector.redact_text`'s patterns, line by line.

A JSON body that does not parse (truncated) but shows a field that needs structural redaction is
withheld: we cannot tell which bytes are the secret, and a secret must never enter a bundle.
Certificates are public and stay.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from collector import leakscan, members
from collector.body import Body
from collector.matchers import may_hold_secret, secret_value
from collector.redact_text import (
    LAST_APPLIED,
    NOT_SECRET,
    OVERLAP,
    Outcome,
    Reason,
    Redaction,
    credential_name,
    found,
    mask,
    placeholder,
    redact_stream,
    redact_text,
    triggered,
)
from collector.runcache import RunCache, Walked
from collector.secret_names import has_secret_key, secret_key
from ztbundle import layout

# --- JSON -----------------------------------------------------------------------------------------

_TOP_KEY = layout.TOP_KEY_BYTES
_SEP = rb"\s{0,64},\s{0,64}"
_KEY = rb'"%s"\s{0,64}:\s{0,64}"'  # a key and the quote that opens its string value
_CRED_BYTES = rb"[^\"\\]{0,200}?(?i:token|passw|pwd|secret|credential|key|auth|bearer|cookie|session)"
# Byte shapes that need the structural walk; each starts at a literal and repeats a bounded number of
# times, so no body makes them slow.
_STRUCTURAL = tuple(
    re.compile(p)
    for p in (
        rb"\"xdsHeaders\"\s{0,64}:\s{0,64}(?:\[\s{0,64}[\[\"{]|\{\s{0,64}\")",
        rb"\"caHeaders\"\s{0,64}:\s{0,64}(?:\[\s{0,64}[\[\"{]|\{\s{0,64}\")",
        rb"kubectl\.kubernetes\.io/last-applied-configuration",
        # The lookahead is implied by the rest and fails fast: most `"name"`s are no pair's, and the
        # credential-word scan inside a name costs a case-insensitive alternation per character.
        _KEY % b"name"
        + rb"(?=[^\"\\]*\"" + _SEP + _KEY % b"value" + rb")"
        + _CRED_BYTES
        + rb"[^\"\\]{0,200}\""
        + _SEP
        + _KEY % b"value"
        + rb"[^\"]",
        _KEY % b"value" + rb"[^\"\\]*(?:\\.[^\"\\]*)*\"" + _SEP + _KEY % b"name" + _CRED_BYTES,
        rb"\"kind\"\s{0,64}:\s{0,64}\"ConfigMap\"",
    )
)


_PROXY_METADATA = b'"proxyMetadata"'
_CRED_KEY = re.compile(rb'"' + _CRED_BYTES)


def _proxy_metadata_credential(data: bytes) -> bool:
    """A credential-named key in a `proxyMetadata` object; each byte is read a bounded number of times."""
    at, done = data.find(_PROXY_METADATA), 0
    while at >= 0:
        start = max(at + len(_PROXY_METADATA), done)
        end = data.find(b"}", start)
        end = len(data) if end < 0 else end
        if _CRED_KEY.search(data, start, end):
            return True
        done = end
        at = data.find(_PROXY_METADATA, end)
    return False


def _needs_walk(data: bytes) -> bool:
    """Whether the bytes show a field that only the structural walk can redact."""
    return found(_STRUCTURAL, data) or _proxy_metadata_credential(data) or has_secret_key(data)


_SPECIAL_KEYS = frozenset({"xdsHeaders", "caHeaders", "proxyMetadata", "data", "env", "annotations"})


def _field(path: str, key: str) -> str:
    """The manifest's name for member `key` of the object at `path` (`spec.env`)."""
    return f"{path}.{key}" if path else key


class _Walker:
    """Walk a parsed document, redacting in place and counting per (rule, field).

    `texts=False` skips the text patterns: the caller saw in the raw bytes that no string can hold a
    hit (no trigger literal, and no escape that could spell one once decoded).
    """

    def __init__(self, *, texts: bool = True) -> None:
        self.counts: Counter[tuple[Reason, str | None]] = Counter()
        self.texts = texts

    def hit(self, rule: Reason, field: str, n: int = 1) -> str:
        self.counts[(rule, field)] += n
        return placeholder(rule)

    def walk(self, node: Any, path: str) -> Any:
        if isinstance(node, str):
            # Most strings hold nothing; skipping the call and its Counter here is most of the walk's cost.
            if not self.texts or not may_hold_secret(node):
                return node
            return self.text(node, path)
        if not self.texts:
            return self.structure(node, path)
        if isinstance(node, list):
            inner = f"{path}[]"
            return [self.walk(v, inner) for v in node]
        if not isinstance(node, dict):
            return node
        if "name" in node and "value" in node:
            self.pair(node, path)
        # What `special` would do for a plain key, without a call per member: most members of a List
        # page are short strings and scalars, and their path is needed only for a hit.
        for key, value in node.items():
            if secret_key(key) and _scalar_secret(value):
                node[key] = self.hit(Reason.CREDENTIAL_KEY, _field(path, key))
            elif key in _SPECIAL_KEYS:
                node[key] = self.special(node, key, value, _field(path, key))
            elif isinstance(value, str):
                if may_hold_secret(value):
                    node[key] = self.text(value, _field(path, key))
            elif isinstance(value, dict | list):
                node[key] = self.walk(value, _field(path, key))
        return node

    def text(self, node: str, path: str) -> str:
        text, counts = redact_text(node)
        for rule, n in counts.items():
            self.counts[(rule, path)] += n
        return text

    def pair(self, node: dict[str, Any], path: str, reason: Reason = Reason.CREDENTIAL_PAIR) -> bool:
        """A `{name, value}` pair whose name is a credential's (env, probe `httpHeaders`, any list)."""
        name, value = node.get("name"), node.get("value")
        if not (isinstance(name, str) and credential_name(name) and secret_value(value)):
            return False
        node["value"] = self.hit(reason, f"{path.removesuffix('[]')}[{name}]")
        return True

    def structure(self, node: Any, path: str) -> Any:
        """`walk` without text patterns, in place: only objects with a special key need `special`.

        Most of a dump is objects of plain keys and scalars; a C-level key check per object and no
        visit of scalars keep a 12 MB dump's walk to a fraction of the full one.
        """
        if isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, dict | list):
                    node[i] = self.structure(v, f"{path}[]")
        elif isinstance(node, dict):
            if "name" in node and "value" in node:
                self.pair(node, path)
            plain = _SPECIAL_KEYS.isdisjoint(node)
            for key, value in node.items():
                if plain and not isinstance(value, dict | list):
                    continue
                here = _field(path, key)
                node[key] = self.structure(value, here) if plain else self.special(node, key, value, here)
        return node

    def special(self, parent: dict[str, Any], key: str, value: Any, here: str) -> Any:
        if key in ("xdsHeaders", "caHeaders"):
            return self.headers(Reason.XDS_HEADERS if key == "xdsHeaders" else Reason.CA_HEADERS, value, here)
        if key == "proxyMetadata" and isinstance(value, dict):
            return self.named_values(Reason.PROXY_METADATA, value, here)
        if key == "data" and isinstance(value, dict) and parent.get("kind") == "ConfigMap":
            return self.named_values(Reason.CONFIGMAP, value, here)
        if key == "env" and isinstance(value, list):
            return [self.env(e, f"{here}[]") for e in value]
        if key == "annotations" and isinstance(value, dict) and LAST_APPLIED in value:
            value[LAST_APPLIED] = self.hit(Reason.LAST_APPLIED, f"{here}.{LAST_APPLIED}")
        return self.walk(value, here)

    def headers(self, rule: Reason, value: Any, here: str) -> Any:
        if isinstance(value, dict):  # a map form, should a version serialise it so
            return {k: self.hit(rule, here) for k in value}
        if not isinstance(value, list):
            return self.walk(value, here)
        out: list[Any] = []
        for pair in value:
            if isinstance(pair, list) and len(pair) == 2:
                out.append([pair[0], self.hit(rule, here)])
            else:
                out.append(self.hit(rule, here))
        return out

    def named_values(self, rule: Reason, value: dict[str, Any], here: str) -> dict[str, Any]:
        for k, v in value.items():
            if credential_name(k) and not (isinstance(v, str) and v.lower() in NOT_SECRET):
                value[k] = self.hit(rule, f"{here}.{k}")
            else:
                value[k] = self.walk(v, f"{here}.{k}")
        return value

    def env(self, entry: Any, here: str) -> Any:
        if isinstance(entry, dict) and self.pair(entry, here, Reason.ENV):
            return entry
        return self.walk(entry, here)


def redact_document(doc: Any, *, texts: bool = True) -> tuple[Any, Counter[tuple[Reason, str | None]]]:
    """Redact a parsed JSON document in place; return it and the hits per (rule, field path)."""
    walker = _Walker(texts=texts)
    return walker.walk(doc, ""), walker.counts


def _serialise_like(doc: Any, original_head: bytes, trailing_newline: bool) -> bytes:
    """Re-serialise in the style received: ztunnel pretty-prints (2 spaces), our merged lists are compact."""
    pretty = original_head.lstrip()[:2] in (b"{\n", b"[\n", b"{\r")
    text = (
        json.dumps(doc, indent=2, ensure_ascii=False)
        if pretty
        else json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    )
    return text.encode("utf-8") + (b"\n" if trailing_newline else b"")


def _strings_may_match(data: bytes) -> bool:
    """Whether any string or key of this JSON text could need the full walk once decoded.

    In ASCII JSON without escapes every decoded string is a slice of the raw bytes, and the byte
    triggers match exactly where the str ones do (str `\\s` and `(?i)` differ only beyond ASCII).
    """
    return not data.isascii() or b"\\" in data or triggered(data) or has_secret_key(data)


def _scalar_secret(value: Any) -> bool:
    """A secret-named key's value worth redacting: a string or number, not a flag or a placeholder."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return secret_value(value)


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
    if not triggered(data) and not _needs_walk(data):
        if key:
            cache.clean_bodies.put((key,), True)
        return Outcome(body, ())
    return _redact_whole(path, body, data)


def _member_triggers(data: bytes, m: members.Member, digest: bytes | None, cache: RunCache) -> bool:
    known = cache.triggered.get((m.key, digest)) if digest else None
    if known is not None:
        return known[0]
    raw = data[m.start : m.stop]
    hit = triggered(raw) or _needs_walk(raw)
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
            triggered(w) or _needs_walk(w)
            for w in (data[max(0, at - OVERLAP) : at + OVERLAP] for at in edges)
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
    walker = _Walker(texts=_strings_may_match(data[m.start : m.stop]))
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
        if _needs_walk(data):
            del data
            body.close()
            why = "withheld: not valid JSON, so fields that may hold credentials cannot be redacted"
            return Outcome(None, (Redaction(path, Reason.WITHHELD, None, 1),), why)
        del data
        return redact_stream(path, body)  # still text: the patterns apply
    walker = _Walker(texts=_strings_may_match(data))
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
    walker = _Walker()
    items = page.pop("items", None) or []
    walker.walk(page, "")
    walker.walk(items, "items")
    return items, walker.counts


def redact_body(
    path: str, body: Body, *, is_json: bool, cache: RunCache | None = None, read: members.Read | None = None
) -> Outcome:
    """Redact one fetched body for member `path`; cheap when nothing needs it (a byte prefilter).

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
