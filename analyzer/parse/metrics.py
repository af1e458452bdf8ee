"""Prometheus text exposition (ztunnel :15020/metrics) → samples; malformed lines are counted."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")
# The quoted value as an unrolled loop: the language of `"((?:[^"\\]|\\.)*)"`, without a branch per
# character (ztunnel's samples carry ~15 labels each: 43k lines at 1,000 nodes).
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"\\]*(?:\\.[^"\\]*)*)"')


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


@dataclass(frozen=True, slots=True)
class Metrics:
    samples: tuple[Sample, ...]
    malformed: int = 0

    def named(self, name: str) -> tuple[Sample, ...]:
        return tuple(s for s in self.samples if s.name == name)

    def total(self, name: str) -> float:
        return sum(s.value for s in self.samples if s.name == name)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def parse_metrics(text: str) -> Metrics:
    samples, malformed = [], 0
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            malformed += 1
            continue
        try:
            value = float(m.group(4))
        except ValueError:
            malformed += 1
            continue
        if not math.isfinite(value):  # ztunnel exports counters; +Inf/NaN there is not a count
            malformed += 1
            continue
        text_labels = m.group(3) or ""
        pairs = _LABEL.findall(text_labels)
        # Without a backslash nothing is escaped: the pairs are the labels (ztunnel's ~28 samples each
        # carry ~15 labels, 28k samples at 1,000 nodes).
        labels = tuple((k, _unescape(v)) for k, v in pairs) if "\\" in text_labels else tuple(pairs)
        samples.append(Sample(m.group(1), labels, value))
    return Metrics(tuple(samples), malformed)
