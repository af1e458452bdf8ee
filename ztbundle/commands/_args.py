"""Argument types and arguments shared by the command modules (stdlib only: the parser builds fast).

Each type raises `argparse.ArgumentTypeError`, so argparse reports bad values as a usage error
(exit 2) naming the option.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from pathlib import Path

BUNDLE_HELP = "a .tar.gz written by `ztbundle collect`, or an istioctl bug-report (.tar.gz or directory)"

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
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
    """Parse `90`, `90s`, `30m`, `2h` or `1h30m` into seconds."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        m = _DURATION.match(value)
        if not value or not m or not any(m.groups()):
            raise argparse.ArgumentTypeError(f"invalid duration {text!r} (use e.g. 90s, 30m, 2h)") from None
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
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
