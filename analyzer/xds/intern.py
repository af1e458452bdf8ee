"""Content hashing and interning: identical entries parse once and are one object across ztunnels."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from analyzer.model.xds import Policy, Workload, XdsService, XdsState

T = TypeVar("T")


def content_hash(entry: Any) -> str:
    """Stable hash of a normalized entry; equal entries → equal hashes across processes."""
    # The dataclass repr lists every field in order and nests tuples/strings/ints only: deterministic.
    return hashlib.blake2b(repr(entry).encode(), digest_size=12).hexdigest()


def _equal_means_same_repr(obj: Any) -> bool:
    """Whether `==` between two such entries implies equal reprs, so one content hash serves both.

    Every field of these entries is text, a tuple of text or numbers the decoders made with int()
    or bool(), except a Workload's `node`, which istiod's proto decoder keeps as JSON gave it: there
    `1 == 1.0 == True` with three reprs, and a list cannot be a dict key.
    """
    cls = type(obj)
    if cls is Workload:
        node = obj.node
        return node is None or type(node) is str
    return cls is XdsService or cls is Policy


def raw_key(raw: Any) -> bytes:
    """Key of a raw JSON entry for interning (identical raw entries parse once).

    repr() of the parsed dict keeps the document's key order, so byte-identical entries (the
    common case: every ztunnel serializes the same workload the same way) share a key; two
    equal entries with different key order merely parse twice and still intern by content hash.
    """
    return hashlib.blake2b(repr(raw).encode(), digest_size=16).digest()


class Interner:
    """Parse each distinct raw entry once; memory is O(unique entries) across all ztunnels."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bytes], tuple[Any, str]] = {}
        self._text: dict[tuple[str, str], tuple[Any, str]] = {}  # entry texts are kept by the split memo
        self._by_hash: dict[str, Any] = {}
        self._hashes: dict[Any, str] = {}  # entry → content hash, for entries equal to one seen before
        self._memo: dict[tuple[str, bytes], Any] = {}
        self._batches: set[tuple[str, str]] = set()

    def hash_of(self, obj: Any) -> str:
        """`content_hash(obj)`, computed once per distinct entry: istiod's per-proxy view and ambientz
        decode to entries equal to the ztunnels' (and to each other's) whenever they are in sync."""
        if not _equal_means_same_repr(obj):
            return content_hash(obj)
        h = self._hashes.get(obj)
        if h is None:
            h = self._hashes[obj] = content_hash(obj)
        return h

    def __call__(self, kind: str, raw: Any, build: Callable[[Any], T]) -> tuple[T, str]:
        key = (kind, raw_key(raw))
        hit = self._cache.get(key)
        if hit is None:
            obj = build(raw)
            h = self.hash_of(obj)
            obj = self._by_hash.setdefault(f"{kind}:{h}", obj)  # equal after normalization → same object
            hit = self._cache[key] = (obj, h)
        return hit

    def batch(
        self, kind: str, source: str, raws: Iterable[Any], build: Callable[[Any], T]
    ) -> Iterator[tuple[T, str]]:
        """Each raw entry of one document interned, like calling the interner on each.

        Keying a raw entry (repr + blake2b) only pays when a later document repeats it, so the first
        document of each `source` builds its entries unkeyed: one per-proxy view and one ambientz per
        bundle (istiod 1.25+) are never keyed at all. From the second document of a source on, the
        entries are keyed, and those repeated from the first are built once more (to equal objects).
        """
        if (kind, source) in self._batches:
            for raw in raws:
                yield self(kind, raw, build)
            return
        self._batches.add((kind, source))
        for raw in raws:
            obj = build(raw)
            h = self.hash_of(obj)
            yield self._by_hash.setdefault(f"{kind}:{h}", obj), h

    def text(
        self, kind: str, text: str, parse: Callable[[str], Any], build: Callable[[Any], T]
    ) -> tuple[T, str]:
        """Like calling the interner, keyed by the entry's raw TEXT: repeated entries are never parsed."""
        key = (kind, text)  # the text itself: no digest to compute for an entry already seen
        hit = self._text.get(key)
        if hit is None:
            obj = build(parse(text))
            h = self.hash_of(obj)
            obj = self._by_hash.setdefault(f"{kind}:{h}", obj)
            hit = self._text[key] = (obj, h)
        return hit

    def memo(self, kind: str, text: str, compute: Callable[[], T]) -> T:
        """Cache any result derived only from `text` (e.g. a whole identical `workloads` section)."""
        key = (kind, hashlib.blake2b(text.encode(), digest_size=16).digest())
        if key not in self._memo:
            self._memo[key] = compute()
        result: T = self._memo[key]
        return result

    def adopt(self, kind: str, obj: T) -> tuple[T, str]:
        """Intern an already-built (e.g. derived) entry by its content."""
        h = self.hash_of(obj)
        return self._by_hash.setdefault(f"{kind}:{h}", obj), h

    def __len__(self) -> int:
        return len(self._by_hash)


def state_from(
    workloads: Iterable[tuple[Workload, str]],
    services: Iterable[tuple[XdsService, str]],
    policies: Iterable[tuple[Policy, str]],
) -> XdsState:
    """Assemble an XdsState, deduplicating workloads by uid and services by `ns/host`."""
    w: dict[str, Workload] = {}
    wh: dict[str, str] = {}
    for obj, h in workloads:
        key = obj.uid or f"{obj.namespace}/{obj.name}"
        w.setdefault(key, obj)
        wh.setdefault(key, h)
    s: dict[str, XdsService] = {}
    sh: dict[str, str] = {}
    for svc, h in services:
        s.setdefault(svc.key, svc)
        sh.setdefault(svc.key, h)
    p: dict[str, Policy] = {}
    ph: dict[str, str] = {}
    for pol, h in policies:
        p.setdefault(pol.key, pol)
        ph.setdefault(pol.key, h)
    return XdsState(w, s, p, wh, sh, ph)
