"""Analyze with every built-in rule."""

from __future__ import annotations

from typing import Any

import rules
from analyzer import AnalysisResult, analyze_bundle


def analyze(bundle: Any) -> AnalysisResult:
    return analyze_bundle(bundle, rules.all_rules())
