"""Where literals occur in a text: the first step of every matcher, done by C searches.

A matcher (`collector.matchers`) tries its pattern only where one of its literals occurs, in a
lower-cased view whose positions are the original's (`lower`); the matchers run over one text share
what was found (`Found`), so a literal two of them need is searched once. The base64 key detector
(`collector.pem_base64`) finds its anchors the same way, in the original text: base64 is case-sensitive.
"""

from __future__ import annotations

import re


def lower(text: str) -> str:
    """`text` lower-cased, as long as `text` so positions carry over (a few characters grow otherwise)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


Found = dict[str, list[int]]  # a literal and where it occurs in one lowered text


def occurrences(lowered: str, literals: tuple[str, ...], found: Found | None = None) -> list[int]:
    """Every position where one of `literals` starts, in order; `found` remembers each literal's."""
    out: list[int] = []
    for lit in literals:
        places = found.get(lit) if found is not None else None
        if places is None:
            places = places_of(lowered, lit)
            if found is not None:
                found[lit] = places
        out += places
    return sorted(set(out)) if len(literals) > 1 else out


def places_of(text: str, lit: str) -> list[int]:
    finder = _FINDERS.get(lit)
    if finder is not None:
        return [m.start() for m in finder.finditer(text)]
    places = []
    at = text.find(lit)
    while at >= 0:
        places.append(at)
        at = text.find(lit, at + 1)
    return places


def _overlaps_itself(lit: str) -> bool:
    return any(lit.startswith(lit[-k:]) for k in range(1, len(lit)))


# A short literal is found faster by re, which skips to its first letter, than by `str.find`, which
# keys on its last one (~0.6 vs ~0.8 ms/MB for `key`, `bearer`). re's matches do not overlap, so
# only for literals that cannot overlap themselves; long ones skip further with `find`.
_FINDERS = {
    lit: re.compile(re.escape(lit))
    for lit in ("key", "token", "passw", "secret", "bearer", "eyj")
    if not _overlaps_itself(lit)
}
