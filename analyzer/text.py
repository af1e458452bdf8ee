"""Make untrusted bundle text safe to show: no terminal escapes, no invisible reordering.

Bundles come from strangers. A pod label, log line or certificate field can carry ANSI escape
sequences (which rewrite a terminal) or Unicode bidirectional overrides (which make text read
differently from what it is, as in "Trojan Source"). Every renderer that shows bundle text to a
person passes it through `printable`, which replaces those characters with a visible `\\uXXXX`
escape and leaves everything else — including non-Latin text — untouched.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL and C1 controls, and the Unicode bidi controls:
# LRM/RLM/ALM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: str) -> str:
    """Return `text` with control and bidi-override characters shown as `\\uXXXX` escapes."""
    return _UNSAFE.sub(_escape, text)


def printable_line(text: str) -> str:
    """Like `printable`, for one-line output: newlines and tabs are escaped too."""
    return printable(text).replace("\n", "\\n").replace("\t", "\\t")
