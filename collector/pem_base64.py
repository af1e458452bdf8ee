"""Base64 blocks that hide a PEM private key (`tls.key` in a Secret's data, a kubeconfig's
`client-key-data`), found however the block is wrapped: the `pem-private-key-base64` matcher.

The key's own text never shows in the base64, so the anchors are the encodings of its fixed parts, at
each of the three alignments a block may start at.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from collector.literals import occurrences


def _b64_markers(text: bytes) -> list[str]:
    """Base64 of `text` at each of the three alignments, trimmed to the characters that never vary."""
    out = []
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + text).decode()
        # The first group mixes in unknown preceding bytes; a padded last group, unknown following ones.
        start = 4 if pad else 0
        end = len(enc) - (4 if (pad + len(text)) % 3 else 0)
        out.append(enc[start:end])
    return out


B64_PRIVATE_KEY = tuple(_b64_markers(b"PRIVATE KEY-----"))
B64_PEM_START = base64.b64encode(b"-----BEGIN")[:14].decode()  # `LS0tLS1CRUdJTi`: a PEM at a blob's start
_ANCHORS = (B64_PEM_START, *B64_PRIVATE_KEY)
# `---` in base64, which every anchor holds (a PEM's dashes): absent, no anchor is there, and one
# search says so where four did.
B64_DASHES = "LS0t"
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_B64_RUN = re.compile(r"[A-Za-z0-9+/]*=*")
_LINE_BREAK = re.compile(r"[ \t]*\r?\n[ \t]*")
_LINE_END = re.compile(r"[ \t]*(?:\r?\n|\Z|[\"',;\]}])")
_WHITESPACE = re.compile(r"\s+")


def _block_end(text: str, pos: int) -> int:
    """End of the base64 block at `pos`: its run, then each following line that is base64 only."""
    end = _B64_RUN.match(text, pos).end()  # type: ignore[union-attr]
    while brk := _LINE_BREAK.match(text, end):
        run = _B64_RUN.match(text, brk.end()).end()  # type: ignore[union-attr]
        if run == brk.end() or not _LINE_END.match(text, run):
            break
        end = run
    return end


def _hides_private_key(block: str) -> bool:
    """Whether a block that starts a PEM (`-----BEGIN`) decodes to a private key's BEGIN line."""
    head = _WHITESPACE.sub("", block[:512])[:200]
    try:
        raw = base64.b64decode(head[: len(head) // 4 * 4])
    except (binascii.Error, ValueError):
        return False
    return b"PRIVATE KEY-----" in raw.split(b"\n", 1)[0]


def b64_private_key_spans(text: str) -> Iterator[tuple[int, int]]:
    """Whole base64 blocks that hide a PEM private key, however they are wrapped.

    A block starts at `LS0tLS1CRUdJTi` (a PEM at the start of the base64) and runs over following
    lines that are base64 only, or it holds the encoding of `PRIVATE KEY-----` at any alignment (then
    its start is the start of that run). A PEM that turns out to be a certificate is left alone.
    """
    done = 0  # end of the last block given out; anchors before it are inside it
    checked = 0  # end of the last block that was not a private key; no other PEM starts inside it
    if B64_DASHES not in text:
        return
    for at in occurrences(text, _ANCHORS):
        if at < done:
            continue
        if text.startswith(B64_PEM_START, at):
            if at < checked:
                continue
            end = _block_end(text, at)
            if not _hides_private_key(text[at:end]):
                checked = end
                continue
            start = at
        else:
            start = at
            while start > done and text[start - 1] in _B64_CHARS:
                start -= 1
            end = _block_end(text, at)
        yield start, end
        done = end
