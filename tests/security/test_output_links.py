"""Outputs are never written through a link planted at their name: the report, extract, the bundle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.analyzer.tarhelp import write_bundle
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

PODS = {layout.PODS: b'{"kind": "PodList", "items": []}'}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "b.tar.gz", PODS)


@pytest.mark.parametrize("fmt", ["html", "json"])
def test_a_symlink_at_the_report_path_is_refused(
    bundle: Path, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    link = bundle.with_name(f"{bundle.name}.report.{fmt}")  # html's default path; json names it
    link.symlink_to(victim)
    args = ["analyze", str(bundle), "-o", fmt] + ([] if fmt == "html" else ["--out-file", str(link)])
    assert main(args) == Exit.USAGE
    assert capsys.readouterr().err == (
        f"ztbundle: error: {link}: is a symbolic link; refusing to write the report through it\n"
    )
    assert victim.read_text() == "keep me" and link.is_symlink()


def test_a_dangling_symlink_is_refused_too(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.symlink_to(tmp_path / "created-elsewhere")
    assert main(["analyze", str(bundle), "--out-file", str(out)]) == Exit.USAGE
    assert not (tmp_path / "created-elsewhere").exists()


def test_a_hard_link_at_the_report_path_is_replaced_not_written_through(bundle: Path, tmp_path: Path) -> None:
    victim, out = tmp_path / "victim", tmp_path / "r.json"
    victim.write_text("keep me")
    os.link(victim, out)
    assert main(["analyze", str(bundle), "-o", "json", "--out-file", str(out)]) == Exit.OK
    assert victim.read_text() == "keep me" and out.read_text().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.tar.gz", "r.json", "victim"]  # no temp left


def test_a_character_device_is_written_to_not_replaced(bundle: Path) -> None:
    assert main(["analyze", str(bundle), "-o", "json", "--out-file", os.devnull]) == Exit.OK
    assert Path(os.devnull).is_char_device()


def test_the_bundle_writer_refuses_a_symlink_at_its_partial_file(tmp_path: Path) -> None:
    from collector.archive import ArchiveError, BundleWriter

    victim, out = tmp_path / "victim", tmp_path / "out.tar.gz"
    victim.write_text("keep me")
    out.with_name(out.name + ".partial").symlink_to(victim)
    with pytest.raises(ArchiveError, match="cannot create bundle"):
        BundleWriter(out)
    assert victim.read_text() == "keep me"
