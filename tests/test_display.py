"""Bundle text shown to people never carries terminal escapes or bidi overrides."""

from pathlib import Path

import pytest

from analyzer.text import printable, printable_line
from ztbundle.cli import main
from ztbundle.exits import Exit


def test_bidi_override_and_ansi_escape_become_visible() -> None:
    hostile = "evil\u202egnp.exe \x1b[2J\x1b[31mred"
    shown = printable(hostile)
    assert "\u202e" not in shown and "\x1b" not in shown
    assert shown == "evil\\u202egnp.exe \\u001b[2J\\u001b[31mred"


def test_ordinary_text_is_untouched() -> None:
    text = "Pod default/productpage-v1 (10.244.0.12) — ноль, 零, café\tcol\nnext"
    assert printable(text) == text


def test_one_line_form_escapes_newlines() -> None:
    assert printable_line("a\nb\tc") == "a\\nb\\tc"


def test_hostile_bundle_text_reaches_neither_terminal_nor_report_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real collect of a cluster whose labels, names and logs carry bidi overrides, then analyze."""
    from tests.fakecluster import FakeCluster, scenarios

    bundle = tmp_path / "hostile.tar.gz"
    with FakeCluster(scenarios.hostile()) as fc:
        main(fc.collect_argv(bundle))
    capsys.readouterr()
    assert main(["analyze", str(bundle), "-o", "text", "--fail-on", "never"]) == Exit.OK
    shown = capsys.readouterr().out
    assert "\\u202e" in shown  # the override is in a finding, shown as an escape ...
    assert "\u202e" not in shown  # ... never as the live character
    report = tmp_path / "r.html"
    main(["analyze", str(bundle), "--out-file", str(report), "--fail-on", "never"])
    html = report.read_text(encoding="utf-8")
    assert "\\u202e" in html and "\u202e" not in html
