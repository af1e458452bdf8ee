"""Argument types and arguments shared by the command modules (stdlib only: the parser builds fast).

Each type raises `argparse.ArgumentTypeError`, so argparse reports bad values as a usage error
(exit 2) naming the option.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BUNDLE_HELP = "a .tar.gz written by `ztbundle collect`, or an istioctl bug-report (.tar.gz or directory)"

_DURATION = re.compile(
    r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$"
)
_SIZE = re.compile(r"^(\d+)\s*([KMG]i?)?B?$", re.IGNORECASE)


def rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 time with a zone (`2026-01-01T12:00:00Z`, `...+02:00`)."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"RFC 3339 time needs a zone (Z or +hh:mm): {value!r}")
    return parsed


def duration(text: str) -> float:
    """Parse `90`, `90s`, `30m`, `2h`, `1h30m` or `7d` into seconds."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        m = _DURATION.match(value)
        if not value or not m or not any(m.groups()):
            raise argparse.ArgumentTypeError(
                f"invalid duration {text!r} (use e.g. 90s, 30m, 2h, 7d)"
            ) from None
        d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = d * 86400 + h * 3600 + mi * 60 + s
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive: {text!r}")
    return seconds


def size(text: str) -> int:
    """Parse `1048576`, `512Ki`, `64Mi` or `1Gi` into bytes."""
    m = _SIZE.match(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (use e.g. 64Mi)")
    unit = (m.group(2) or "").upper().rstrip("I")
    value = int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[unit]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text!r}")
    return value


def positive_int(text: str) -> int:
    """Parse an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def limit_scale(value: str) -> float:
    """Parse the factor for the bundle reader's size limits: a number of at least 1."""
    try:
        factor = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not factor >= 1:  # also refuses NaN
        raise argparse.ArgumentTypeError("limit scale must be at least 1")
    return factor


def add_bundle(p: argparse.ArgumentParser) -> None:
    """Add the BUNDLE positional every reading command takes."""
    p.add_argument("bundle", type=Path, help=BUNDLE_HELP)


def add_limit_scale(p: argparse.ArgumentParser) -> None:
    """Add `--limit-scale` for commands that open a bundle with the reader's limits."""
    p.add_argument(
        "--limit-scale",
        type=limit_scale,
        default=1.0,
        help="multiply the bundle reader's size limits (for very large clusters)",
    )


# --- names, choices and "did you mean" ------------------------------------------------------------


def closest_first(value: str, names: Iterable[str]) -> list[str]:
    """`names` ordered by similarity to `value` (then alphabetically), for "did you mean" lists."""
    unique = sorted(set(names))
    return sorted(unique, key=lambda n: (-difflib.SequenceMatcher(None, value, n).ratio(), n))


def did_you_mean(value: str, names: Iterable[str]) -> str:
    """` (did you mean X?)` when one name is close to `value`, else an empty string."""
    close = difflib.get_close_matches(value, list(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_name(flag: str, value: str, names: Iterable[str], what: str) -> str:
    """The one-line message for a name the bundle or cluster does not have, valid names closest first."""
    valid = closest_first(value, names)
    shown = ", ".join(valid[:12]) + (f", … ({len(valid)} in all)" if len(valid) > 12 else "")
    return f"{flag} {value}: no such {what}{did_you_mean(value, valid)}; valid: {shown or 'none'}"


def choice(choices: Sequence[str], aliases: Mapping[str, str] | None = None) -> Callable[[str], str]:
    """An argparse type accepting `choices` (and `aliases` of them), with "did you mean" on a typo."""
    aliases = dict(aliases or {})

    def parse(value: str) -> str:
        v = aliases.get(value, value)
        if v in choices:
            return v
        raise argparse.ArgumentTypeError(
            f"invalid choice: {value!r}{did_you_mean(value, [*choices, *aliases])} "
            f"(choose from {', '.join(choices)})"
        )

    parse.choices = tuple(choices)  # type: ignore[attr-defined]  # read by shell completion
    return parse


def completes(words: Sequence[str]) -> Callable[[str], str]:
    """An argparse type that accepts any text but offers `words` to shell completion."""

    def parse(value: str) -> str:
        return value

    parse.choices = tuple(words)  # type: ignore[attr-defined]  # read by shell completion
    return parse


# --- -o/--output is the format; a path is --out-file ---------------------------------------------

_TEXT_SYNONYMS = ("text", "short")


def output_format(formats: Sequence[str]) -> Callable[[str], str]:
    """An argparse type for `-o/--output`: one of `formats`; a path gets told to use --out-file.

    `text` and `short` (istioctl's name for its tables) are the same thing: whichever of the two a
    command lists, the other is accepted for it.
    """
    aliases = {s: t for t in formats if t in _TEXT_SYNONYMS for s in _TEXT_SYNONYMS if s != t}

    def parse(value: str) -> str:
        v = aliases.get(value, value)
        if v in formats:
            return v
        hint = did_you_mean(value, formats)
        if not hint and (value == "-" or "/" in value or "." in value):
            raise argparse.ArgumentTypeError(
                f"{value!r} is not an output format (-o is the format: {', '.join(formats)}); "
                f"to write a file use --out-file {value}"
            )
        choose = ", ".join(formats)
        raise argparse.ArgumentTypeError(f"invalid format: {value!r}{hint} (choose from {choose})")

    parse.choices = tuple(formats)  # type: ignore[attr-defined]  # read by shell completion
    return parse


def add_output(p: argparse.ArgumentParser, formats: Sequence[str], default: str, help: str = "") -> None:
    """Add `-o/--output FORMAT` as kubectl has it: the output format, never a path."""
    p.add_argument(
        "-o",
        "--output",
        type=output_format(formats),
        default=default,
        metavar="FORMAT",
        help=help or f"output format: {', '.join(formats)} (default: {default})",
    )


class _Moved(argparse.Action):
    """A flag whose meaning moved: fail with one line saying what to type instead."""

    def __init__(self, option_strings: Sequence[str], dest: str, instead: str = "", **kw: Any) -> None:
        self.instead = instead
        super().__init__(option_strings, dest, nargs=kw.pop("nargs", 1), help=argparse.SUPPRESS, **kw)

    def __call__(
        self, parser: argparse.ArgumentParser, ns: argparse.Namespace, values: Any, opt: Any = None
    ) -> None:
        value = values[0] if isinstance(values, list) and values else ""
        parser.error(f"{opt} {value}: use {self.instead.format(value=value)}")


def add_moved(p: argparse.ArgumentParser, *flags: str, instead: str, nargs: int | str = 1) -> None:
    """Register `flags` as moved: using one fails with `use <instead>` (`{value}` is the value given)."""
    dest = f"_moved_{flags[-1].lstrip('-')}"
    p.add_argument(*flags, action=_Moved, instead=instead, nargs=nargs, dest=dest)


def add_out_file(p: argparse.ArgumentParser, help: str) -> None:
    """Add `--out-file PATH` (`-` is stdout), and make the old `--out PATH` say to use it."""
    p.add_argument("--out-file", metavar="PATH", help=help)
    add_moved(p, "--out", instead="--out-file {value}")


# --- times: RFC 3339 or a duration back from the bundle's time ---------------------------------


def time_or_duration(value: str) -> datetime | timedelta:
    """An RFC 3339 time, or a duration (`10m`, `1h30m`) counted back from the bundle's time."""
    try:
        return timedelta(seconds=duration(value))
    except argparse.ArgumentTypeError:
        pass
    try:
        return rfc3339(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"not a duration or an RFC 3339 time: {value!r} (use e.g. 10m, or 2026-01-01T12:00:00Z)"
        ) from None


def time_or_offset(value: str) -> datetime | timedelta:
    """An RFC 3339 time, or `+7d` / `-2h`: that long after or before the bundle's collection time."""
    text = value.strip()
    if text[:1] in "+-" and len(text) > 1:
        try:
            seconds = duration(text[1:])
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"invalid offset {value!r} (use e.g. +30d or -2h)") from None
        return timedelta(seconds=seconds if text[0] == "+" else -seconds)
    try:
        return rfc3339(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"not an RFC 3339 time or an offset: {value!r} (use e.g. 2026-01-01T12:00:00Z, +30d or -2h)"
        ) from None


def at_offset(value: datetime | timedelta | None, reference: datetime) -> datetime | None:
    """A `time_or_offset` value as an absolute time: offsets count from `reference`."""
    return reference + value if isinstance(value, timedelta) else value


def resolve_time(value: datetime | timedelta | None, reference: datetime) -> datetime | None:
    """A `time_or_duration` value as an absolute time: durations count back from `reference`."""
    if isinstance(value, timedelta):
        return reference - value
    return value


def utc_z(moment: datetime) -> str:
    """An aware time as RFC 3339 in UTC with `Z`, the one way times are printed."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
