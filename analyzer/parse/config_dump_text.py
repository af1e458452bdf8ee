"""ztunnel `/config_dump` text → `ZtunnelDump`, parsing each repeated entry once per load.

Both paths end in `config_dump.parse_config_dump`; they only spare `json.loads` of entries and
sections another ztunnel of the bundle already had.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from analyzer import xds
from analyzer.model import FormatNote, XdsState
from analyzer.parse.config_dump import Entries, ZtunnelDump, parse_config_dump, xds_state_of
from ztbundle import layout

# --- fast path: pretty-printed dumps are split by indentation, entries interned by text ----------

_ENTRY = re.compile(r'^    (?:"(?:[^"\\\n]|\\.)*": )?(\{\n.*?\n    \})(?=,?$)', re.M | re.S)
_LEFTOVER = re.compile(r"^[\[{][\s,]*[\]}]$")
_ENTRY_SECTIONS = ("workloads", "services", "policies")


def _top_sections(text: str) -> dict[str, str] | None:
    """Top-level `key → value text` of a 2-space pretty-printed object (serde's to_string_pretty)."""
    body = text.strip()
    if not body.startswith('{\n  "') or not body.endswith("\n}"):
        return None
    keys = list(layout.top_level_keys(body))
    out: dict[str, str] = {}
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(body) - 1
        out[m.group(1)[1:-1]] = body[m.end() : end].rstrip().removesuffix(",")
    return out


def _split_entries(section: str) -> list[str] | None:
    """Entry texts of a pretty-printed list (or map) section; None when the layout is unexpected."""
    body = section.strip()
    if body in ("[]", "{}"):
        return []
    found: list[str] = []
    gaps: list[str] = []  # what `_ENTRY.sub("", body)` leaves: the text between the same matches
    pos = 0
    for m in _ENTRY.finditer(body):
        gaps.append(body[pos : m.start()])
        found.append(m.group(1))
        pos = m.end()
    gaps.append(body[pos:])
    if not found or not _LEFTOVER.match("".join(gaps)):
        return None  # something we did not capture: let json.loads handle the whole section
    return found


def parse_config_dump_text(text: str, intern: xds.Interner, parse: Callable[[str], Any]) -> ZtunnelDump:
    """Parse dump text; pretty-printed current/1.22 dumps skip json.loads for repeated entries.

    `parse` is the depth-limited JSON parser naming the member on errors. Anything unexpected
    (compact JSON, legacy key set) falls back to parsing the whole document.
    """
    sections = _top_sections(text)
    if sections is None or "workloads" not in sections:
        return parse_config_dump(parse(text), intern)
    fast: dict[str, Entries] = {}
    for key in _ENTRY_SECTIONS:
        value = sections.get(key, "[]")
        texts = intern.memo("split", value, lambda v=value: _split_entries(v))  # type: ignore[misc]
        if texts is None:
            return parse_config_dump(parse(text), intern)
        fast[key] = Entries([], texts, parse)
    doc = {k: parse(v) for k, v in sections.items() if k not in _ENTRY_SECTIONS}
    doc["workloads"] = {} if sections["workloads"].lstrip().startswith("{") else []
    return parse_config_dump(doc, intern, fast)


# --- pieces path: a format-2 dump is assembled from its shared objects, each section parsed once ----
#
# The collector cuts a dump before each top-level key (`layout.top_level_keys`): every piece
# after the first starts with `\n  "key": `, and a section never spans two pieces. So the sections
# of the whole text are the sections of its pieces, in order, and everything derived from a section
# can be remembered by the piece's sha256. Anything else (a piece that does not start at a key, bad
# UTF-8, compact JSON) returns None and the caller parses the rebuilt text as before.

SectionId = tuple[str, bool, bool, int]
"""(piece sha256, is first piece, is last piece, index of the section within the piece)."""


def _piece_sections(data: bytes, first: bool, last: bool) -> list[tuple[str, str]] | None:
    """`(key, value text)` of one piece, exactly as `_top_sections` cuts them out of the whole body."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # the text path reports it, naming the byte offset in the whole member
    if first:
        text = text.lstrip()
        if not text.startswith('{\n  "'):
            return None
    if last:
        text = text.rstrip()
        if not text.endswith("\n}"):
            return None
    keys = list(layout.top_level_keys(text))
    if not first and (not keys or keys[0].start() != 0):
        return None  # not cut before a key: a section might span pieces
    stop = len(text) - 1 if last else len(text)
    out = []
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else stop
        out.append((m.group(1)[1:-1], text[m.end() : end].rstrip().removesuffix(",")))
    return out


class PieceCache:
    """What one load derived from each shared object: sections, parsed values, xDS states."""

    def __init__(self) -> None:
        self.sections: dict[tuple[str, bool, bool], list[tuple[str, str]] | None] = {}
        self.values: dict[SectionId, Any] = {}
        self.xds: dict[tuple[SectionId | None, ...], tuple[XdsState, tuple[FormatNote, ...]]] = {}


def parse_config_dump_pieces(
    pieces: Sequence[tuple[str, bytes]],
    intern: xds.Interner,
    parse: Callable[[str], Any],
    cache: PieceCache,
) -> ZtunnelDump | None:
    """Like `parse_config_dump_text` on the pieces' concatenation, or None when only that can tell.

    Same steps in the same order as the text path (split the entry sections, parse the others,
    build the xDS state), so a bad dump raises the same error; each step is memoised by piece.
    """
    sections: dict[str, tuple[str, SectionId]] = {}
    last = len(pieces) - 1
    for i, (digest, data) in enumerate(pieces):
        key = (digest, i == 0, i == last)
        if key not in cache.sections:
            cache.sections[key] = _piece_sections(data, i == 0, i == last)
        found = cache.sections[key]
        if found is None:
            return None
        for j, (name, value) in enumerate(found):
            sections[name] = (value, (*key, j))
    if "workloads" not in sections:
        return None
    xkey = tuple(sections[n][1] if n in sections else None for n in _ENTRY_SECTIONS)
    state = cache.xds.get(xkey)  # remembered: its sections split fine, no need to hash them again
    fast: dict[str, Entries] = {}
    if state is None:
        for name in _ENTRY_SECTIONS:
            value = sections.get(name, ("[]", None))[0]
            texts = intern.memo("split", value, lambda v=value: _split_entries(v))  # type: ignore[misc]
            if texts is None:
                return None
            fast[name] = Entries([], texts, parse)
    doc = {}
    for name, (value, sid) in sections.items():
        if name not in _ENTRY_SECTIONS:
            if sid not in cache.values:
                cache.values[sid] = parse(value)
            doc[name] = cache.values[sid]
    wl_value, wl_sid = sections["workloads"]
    if wl_sid not in cache.values:  # the section's shape (map before 1.23), not its parse
        cache.values[wl_sid] = {} if wl_value.lstrip().startswith("{") else []
    doc["workloads"] = type(cache.values[wl_sid])()
    if state is None:
        state = cache.xds[xkey] = xds_state_of(fast["workloads"], fast["services"], fast["policies"], intern)
    return parse_config_dump(doc, intern, built=state)
