"""Every bundle of the hostile corpus is rejected by `analyze` and `extract` with its one exact line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer import limits
from tests.hostile import corpus
from ztbundle.cli import main
from ztbundle.exits import Exit


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, corpus.Written]:
    out = tmp_path_factory.mktemp("hostile")
    return {w.attack.name: w for w in corpus.write_corpus(out)}


def _one_line_error(err: str, attack: corpus.Attack, bundle: Path) -> None:
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert re.fullmatch(attack.line(bundle), err.rstrip("\n")), err


def test_every_attack_has_a_bundle_and_a_distinct_name() -> None:
    names = [a.name for a in corpus.ATTACKS]
    assert len(names) == len(set(names)) >= 20
    required = {
        "absolute-path", "dotdot", "symlink", "hardlink", "char-device", "fifo", "duplicate-member",
        "unlisted-member", "oversized-member", "total-size-bomb", "ratio-bomb", "deep-json",
        "invalid-utf8-json", "invalid-utf8-log", "schema-invalid-manifest", "missing-manifest",
        "not-gzip", "truncated-gzip", "sha256-mismatch",
    }  # fmt: skip
    assert required <= set(names)


def test_the_benign_base_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each attack changes one thing in this base, so its rejection is the attack's, not the base's."""
    path = tmp_path / "benign.tar.gz"
    path.write_bytes(corpus.benign())
    assert main(["analyze", str(path), "-o", "json", "--out-file", str(tmp_path / "r.json")]) == Exit.OK
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("attack", corpus.ATTACKS, ids=lambda a: a.name)
def test_analyze_rejects_with_one_exact_line(
    attack: corpus.Attack,
    written: dict[str, corpus.Written],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    if attack.limits:
        monkeypatch.setattr(limits, "DEFAULT", attack.limits)
    path = written[attack.name].path
    report = tmp_path / "report.html"
    assert main(["analyze", str(path), "--out-file", str(report)]) == Exit.BAD_INPUT
    captured = capsys.readouterr()
    _one_line_error(captured.err, attack, path)
    assert captured.out == "" and not report.exists()


def test_corpus_script_writes_every_bundle_and_the_expectations(tmp_path: Path) -> None:
    assert corpus.main([str(tmp_path)]) == 0
    lines = (tmp_path / "expected.txt").read_text().splitlines()
    assert len(lines) == len(corpus.ATTACKS)
    assert sorted(p.name for p in tmp_path.glob("*.tar.gz")) == sorted(
        [f"{a.name}.tar.gz" for a in corpus.ATTACKS] + ["benign.tar.gz"]
    )
