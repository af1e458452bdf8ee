"""`samples/make.py istioctl-bug-report` writes the broken sample as istioctl would have archived it."""

from __future__ import annotations

from pathlib import Path

from samples import make


def test_bug_report_sample_shows_every_rule_its_inputs_allow(tmp_path: Path) -> None:
    made = make.make("istioctl-bug-report", tmp_path)
    codes = {code for code, _, _ in make.findings(made.path)}
    assert codes >= make.REQUIRED - make.NOT_IN_BUG_REPORTS
    assert not codes & make.NOT_IN_BUG_REPORTS
    assert make.main(["--out", str(tmp_path), "istioctl-bug-report"]) == 0
