"""What the report shows beside the findings, computed from the model: one module per section.

Each module is pure over the loaded model and the findings; the result carries what they compute,
so every renderer (JSON, text, HTML) shows the same data and none of them reads the model.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Tone"]


class Tone(StrEnum):
    """How a cell or a row reads at a glance."""

    OK = "ok"
    WARN = "warn"
    BAD = "bad"
    UNKNOWN = "unknown"
