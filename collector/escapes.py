"""JSON escapes undone for matching: `Bearer\\u0020…`, `\\/` in base64, `\\n` inside a PEM block read as
they would once decoded, with a map back to positions in the original text (`View.original`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

_ESCAPE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|([/tnrbf]))")
_SIMPLE = {"/": "/", "t": "\t", "n": "\n", "r": "\r", "b": " ", "f": " "}


def _unescaped(m: re.Match[str]) -> str | None:
    if m.group(2):
        return _SIMPLE[m.group(2)]
    cp = int(m.group(1), 16)
    if cp in (0x22, 0x5C):  # a quote or backslash would change what a JSON string means
        return None
    if 0x20 <= cp < 0x7F or cp in (0x09, 0x0A, 0x0D):
        return chr(cp)
    return " " if chr(cp).isspace() else None


@dataclass(frozen=True, slots=True)
class View:
    """Text with JSON escapes undone (at any nesting depth), and the way back to original positions."""

    text: str
    _at: tuple[int, ...] = ()  # view index of each replacement character
    _from: tuple[tuple[int, int], ...] = ()  # the original [start, end) it replaced

    def original(self, pos: int) -> int:
        """The original position of view position `pos` (a start, or an exclusive end)."""
        i = bisect_right(self._at, pos) - 1
        if i < 0:
            return pos
        at, (start, end) = self._at[i], self._from[i]
        return start if pos == at else end + (pos - at - 1)


def unescape(text: str) -> View:
    if "\\" not in text:
        return View(text)
    parts: list[str] = []
    at: list[int] = []
    spans: list[tuple[int, int]] = []
    last = shift = 0
    for m in _ESCAPE.finditer(text):
        char = _unescaped(m)
        if char is None:
            continue
        parts += (text[last : m.start()], char)
        at.append(m.start() - shift)
        spans.append((m.start(), m.end()))
        shift += m.end() - m.start() - 1
        last = m.end()
    if not at:
        return View(text)
    parts.append(text[last:])
    return View("".join(parts), tuple(at), tuple(spans))
