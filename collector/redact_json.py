"""Redaction of parsed JSON: by field where the structure says a value is a credential, by pattern elsewhere.

By field: `xdsHeaders`/`caHeaders` values, credential-named `proxyMetadata` keys, ConfigMap `data`
keys, every `{name, value}` pair named like a credential (container `env`, probe `httpHeaders`, any
other list of pairs), every key named like a secret in any style (`SecretAccessKey`,
`session_token`), and the `kubectl.kubernetes.io/last-applied-configuration` annotation (it repeats
env values verbatim). Every other string goes through the text matchers of `collector.matchers`.
Certificates are public and stay.

`needs_walk` and `strings_may_match` read the raw bytes first, so a body that shows none of this is
never parsed for it (`collector.redact`, which decides how each fetched body is redacted).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from collector.matchers import may_hold_secret, secret_value
from collector.redact_text import (
    LAST_APPLIED,
    NOT_SECRET,
    Reason,
    credential_name,
    found,
    placeholder,
    redact_text,
    triggered,
)
from collector.secret_names import has_secret_key, secret_key

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
        + rb"(?=[^\"\\]*\""
        + _SEP
        + _KEY % b"value"
        + rb")"
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


def needs_walk(data: bytes) -> bool:
    """Whether the bytes show a field that only the structural walk can redact."""
    return found(_STRUCTURAL, data) or _proxy_metadata_credential(data) or has_secret_key(data)


_SPECIAL_KEYS = frozenset({"xdsHeaders", "caHeaders", "proxyMetadata", "data", "env", "annotations"})


def _field(path: str, key: str) -> str:
    """The manifest's name for member `key` of the object at `path` (`spec.env`)."""
    return f"{path}.{key}" if path else key


class Walker:
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
    walker = Walker(texts=texts)
    return walker.walk(doc, ""), walker.counts


def strings_may_match(data: bytes) -> bool:
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
