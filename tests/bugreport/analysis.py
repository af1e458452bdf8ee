"""Analyze with every built-in rule, before and after `analyze_bundle` took the rules as an argument."""

from __future__ import annotations

import inspect
from typing import Any

from analyzer import AnalysisResult, analyze_bundle


def analyze(bundle: Any) -> AnalysisResult:
    """`analyze_bundle(bundle)` with all of `rules`; main's version wants them passed in."""
    import rules

    if "rules" in inspect.signature(analyze_bundle).parameters:
        return analyze_bundle(bundle, rules.all_rules())  # type: ignore[call-arg,arg-type,unused-ignore]
    return analyze_bundle(bundle)
