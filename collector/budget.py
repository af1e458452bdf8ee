"""Fit the deferred logs into what `--max-size` leaves once every dump is in the archive.

Dumps always go in; logs share the rest. Each log's compressed size is estimated from a sample,
the budget is shared by water-filling (small logs whole, big ones capped at an equal share), and a
log over its share keeps its error and warning lines first, then its newest lines, in their
original order. Every trimmed log keeps status `ok` and gets a manifest `trims` record, so the
analyzer reads it as partial evidence rather than as absence.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, compress, repeat

from collector.archive import BundleWriter, Spooled
from collector.failures import Trim
from collector.manifest import Manifest

TRIM_RULE = "max-size: error and warning lines first, then newest lines"
SAMPLE = 64 << 10
# Room kept for what is written after the logs: the tool log, the manifest (~1/4 of its JSON once
# compressed), the gzip trailer and the compressor's unflushed buffer.
_FIXED_RESERVE = 192 << 10
_PER_ARTIFACT = 110
_PER_PIECE = 40
# Deflate's worst case: incompressible input in stored blocks, 5 bytes of header per 64 KiB block.
_DEFLATE_WORST = 1.001
# Level words as ztunnel (Rust tracing: `  WARN `), istiod (zap: `\twarn\t`) and klog (`E0102 `) write them.
# The definition of an important line; `important_lines` finds the same lines faster.
_IMPORTANT = re.compile(
    rb"(?:^|[\s\t])(?:ERROR|WARN|error|warn|warning|fatal|FATAL|panic)(?:[\s\t:]|$)|^[EWF]\d{4} "
)
# `_IMPORTANT`'s words over a whole log, one pattern each so that the regex engine skips ahead to the
# word's text: no non-space byte just before it (`(?<!\SE)` once `E` is read) and none but `:` after.
_LEVEL_WORDS = tuple(
    re.compile(p)
    for p in (
        rb"E(?<!\SE)RROR(?![^\s:])",
        rb"W(?<!\SW)ARN(?![^\s:])",
        rb"F(?<!\SF)ATAL(?![^\s:])",
        rb"e(?<!\Se)rror(?![^\s:])",
        rb"w(?<!\Sw)arn(?:ing)?(?![^\s:])",
        rb"f(?<!\Sf)atal(?![^\s:])",
        rb"p(?<!\Sp)anic(?![^\s:])",
    )
)
_KLOG = re.compile(rb"[EWF]\d{4} ")  # `_IMPORTANT`'s other half, matched at a line's start


@dataclass(frozen=True, slots=True)
class LogPlan:
    """One spooled log and the compressed bytes it may take."""

    log: Spooled
    ratio: float  # raw bytes per compressed byte, from a sample
    allowance: int  # compressed bytes granted


def reserve(manifest: Manifest) -> int:
    """Compressed bytes to keep free for the tool log and the manifest."""
    pieces = sum(len(a.pieces or ()) for a in manifest.artifacts)
    return _FIXED_RESERVE + _PER_ARTIFACT * (len(manifest.artifacts) + 1) + _PER_PIECE * pieces


def ratio_of(data: bytes) -> float:
    """Raw/compressed ratio of the newest `SAMPLE` bytes at the archive's gzip level."""
    sample = data[-SAMPLE:]
    if not sample:
        return 1.0
    return max(1.0, len(sample) / len(zlib.compress(sample, 6)))


def share(costs: Sequence[int], budget: int) -> list[int]:
    """Water-filling: each cost gets min(cost, cap), with the cap as high as the budget allows."""
    if sum(costs) <= budget:
        return list(costs)
    left, out = max(0, budget), [0] * len(costs)
    order = sorted(range(len(costs)), key=lambda i: costs[i])
    for rank, i in enumerate(order):
        cap = left // (len(costs) - rank)
        out[i] = min(costs[i], cap)
        left -= out[i]
    return out


def important_lines(data: bytes, lines: Sequence[bytes]) -> list[int]:
    """Indices of the `lines` of `data` (`data.splitlines(keepends=True)`) that `_IMPORTANT` matches.

    One search per word over the whole text (a per-line search of `_IMPORTANT` tries its pattern at
    every byte: ~4x the CPU) and one C-level `match` per line. `bytes.splitlines` breaks lines only
    at `\\n`, `\\r` and `\\r\\n`, all of them `\\s`: so a word follows a line break or a space
    exactly when `_IMPORTANT`'s `(?:^|[\\s\\t])` holds in its line, and only the last line can end
    right after a word, where `$` and `\\Z` agree.
    """
    found = set(compress(range(len(lines)), map(_KLOG.match, lines)))
    starts = [m.start() for word in _LEVEL_WORDS for m in word.finditer(data)]
    if starts:
        found.update(map(bisect_right, repeat(list(accumulate(map(len, lines)))), starts))
    return sorted(found)


def keep_lines(data: bytes, limit: int) -> bytes:
    """At most `limit` bytes of whole lines: error/warning lines newest first, then the newest others."""
    if len(data) <= limit:
        return data
    lines = data.splitlines(keepends=True)
    chosen: set[int] = set()
    used = 0
    important = important_lines(data, lines)
    rest = sorted(set(range(len(lines))) - set(important))
    shortest = min(map(len, lines))
    for group in (important, rest):
        for i in reversed(group):
            if used + len(lines[i]) > limit:
                if used + shortest > limit:
                    break  # no line fits any more
                continue  # a shorter, older line may still fit
            chosen.add(i)
            used += len(lines[i])
    return b"".join(lines[i] for i in sorted(chosen))


def write_logs(writer: BundleWriter, manifest: Manifest, max_size: int) -> None:
    """Write every deferred log, trimmed to fit `max_size`, and record trims in the manifest."""
    logs = writer.spooled
    if not logs:
        return
    budget = max_size - writer.compressed_bytes - reserve(manifest)
    if budget < 0:
        manifest.errors.append(
            f"dumps alone take ~{writer.compressed_bytes} bytes of the {max_size}-byte --max-size; "
            "logs were cut to nothing"
        )
    plans = _plan(logs, budget)
    by_path = {a.item.path: i for i, a in enumerate(manifest.artifacts)}
    for plan in plans:
        data = plan.log.file.read_bytes()
        kept = keep_lines(data, int(plan.allowance * plan.ratio)) if plan.allowance < _cost(plan) else data
        if kept is data:  # whole, as scanned when it arrived
            writer.add_scanned(plan.log.path, data, plan.log.leak)
            continue
        writer.add(plan.log.path, kept)
        i = by_path.get(plan.log.path)
        if i is None:
            continue
        old = manifest.artifacts[i]
        earlier = old.trim.bytes_dropped if old.trim else 0  # e.g. also cut by --max-artifact-size
        rule = f"{old.trim.rule}; {TRIM_RULE}" if old.trim else TRIM_RULE
        manifest.artifacts[i] = replace(
            old,
            bytes=len(kept),
            sha256=hashlib.sha256(kept).hexdigest(),
            trim=Trim(len(kept), old.bytes - len(kept) + earlier, rule),
        )


def _cost(plan: LogPlan) -> int:
    return int(plan.log.size / plan.ratio) + 1


def _plan(logs: Sequence[Spooled], budget: int) -> list[LogPlan]:
    if sum(log.size for log in logs) * _DEFLATE_WORST <= budget:
        # Every log whole even uncompressed: no sample needs compressing to know it fits.
        return [LogPlan(log, 1.0, int(log.size * _DEFLATE_WORST) + 1) for log in logs]
    ratios = []
    for log in logs:
        with log.file.open("rb") as f:
            if log.size > SAMPLE:
                f.seek(log.size - SAMPLE)
            ratios.append(ratio_of(f.read()))
    costs = [int(log.size / r) + 1 for log, r in zip(logs, ratios, strict=True)]
    grants = share(costs, budget)
    return [LogPlan(log, r, g) for log, r, g in zip(logs, ratios, grants, strict=True)]
