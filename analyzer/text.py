"""Make untrusted bundle text safe to show: no terminal escapes, no invisible reordering.

Bundles come from strangers. A pod label, log line or certificate field can carry ANSI escape
sequences (which rewrite a terminal) or Unicode bidirectional overrides (which make text read
differently from what it is, as in "Trojan Source"). Every renderer that shows bundle text to a
person passes it through `printable`, which replaces those characters with a visible `\\uXXXX`
escape and leaves everything else — including non-Latin text — untouched.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 controls except tab and newline, DEL and C1 controls, the Unicode bidi controls
# (LRM/RLM/ALM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI), and lone surrogates (no encoding has them).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: str) -> str:
    """Return `text` with control and bidi-override characters shown as `\\uXXXX` escapes."""
    return _UNSAFE.sub(_escape, text)


def printable_line(text: str) -> str:
    """Like `printable`, for one-line output: newlines and tabs are escaped too."""
    return printable(text).replace("\n", "\\n").replace("\t", "\\t")


class PrintableStream:
    """A text stream that passes everything written to it through `printable`.

    The CLI puts one around stdout and stderr for every command that shows bundle data, so no
    printing line can forget to escape: OSC 52 (clipboard), OSC 8 (hyperlinks), CSI and C1
    sequences in a bundle reach the terminal as visible `\\u001b...` text. JSON and YAML outputs
    never hold a raw control character (both serializers escape them), so they pass unchanged.
    """

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner

    def write(self, text: str) -> int:
        self.inner.write(printable(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding ... are the stream's
        return getattr(self.inner, name)
