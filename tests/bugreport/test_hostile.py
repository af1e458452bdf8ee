"""Hostile bug-reports: analyze, extract and convert refuse each in one line (content-only: analyze)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.hostile import bugreport_corpus as corpus
from tests.hostile.corpus import Attack
from ztbundle.cli import main
from ztbundle.exits import Exit

COMMANDS = {
    "analyze": lambda path, tmp: ["analyze", str(path), "--out-file", str(tmp / "report.html")],
    "extract": lambda path, tmp: ["extract", str(path), str(tmp / "out")],
    "convert": lambda path, tmp: ["convert", str(path), "--out-file", str(tmp / "converted.tar.gz")],
}


def _refused(argv: list[str], line: str, tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == Exit.BAD_INPUT
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1, captured.err
    assert re.fullmatch(line, captured.err.rstrip("\n")), captured.err
    assert captured.out == ""
    assert not (tmp / "report.html").exists() and not (tmp / "out").exists()
    assert not list(tmp.glob("converted.tar.gz*"))


def test_the_benign_bases_are_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each attack changes one thing in these, so a rejection is the attack's, not the base's."""
    archive = tmp_path / "bug-report.tar.gz"
    archive.write_bytes(corpus.benign())
    for path in (archive, corpus.write_dir(tmp_path / "dir")):
        assert main(["analyze", str(path), "--out-file", str(tmp_path / "r.html")]) == Exit.OK
        assert capsys.readouterr().err == ""


def test_every_attack_has_a_distinct_name() -> None:
    names = [a.name for a in corpus.ATTACKS] + [a.name for a in corpus.DIR_ATTACKS]
    assert len(names) == len(set(names)) >= 12


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("attack", corpus.ATTACKS, ids=lambda a: a.name)
def test_archive_attack_is_refused(
    attack: Attack, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"{attack.name}.tar.gz"
    path.write_bytes(attack.build())
    if attack.content and command != "analyze":  # copied as stored; analyzing the copy refuses it
        assert main(COMMANDS[command](path, tmp_path)) == Exit.OK
        return
    _refused(COMMANDS[command](path, tmp_path), attack.line(path), tmp_path, capsys)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("attack", corpus.DIR_ATTACKS, ids=lambda a: a.name)
def test_directory_attack_is_refused(
    attack: corpus.DirAttack, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = corpus.write_dir(tmp_path / "in")
    attack.plant(root)
    line = f"ztbundle: error: {re.escape(str(root))}:{re.escape(attack.member)}: {attack.problem}"
    _refused(COMMANDS[command](root, tmp_path), line, tmp_path, capsys)


def test_a_directory_that_is_no_bug_report_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in" / "cluster").mkdir(parents=True)
    (tmp_path / "in" / "cluster" / "pods.json").write_text("{}")  # a ztbundle member name, no manifest
    line = (
        f"ztbundle: error: {re.escape(str(tmp_path / 'in'))}: is a directory but not an extracted istioctl .*"
    )
    _refused(COMMANDS["analyze"](tmp_path / "in", tmp_path), line, tmp_path, capsys)
