"""Crashes the fuzzer found, each pinned by the smallest bundle that showed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.analyzer.tarhelp import write_bundle
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

PODS = {layout.PODS: b'{"kind": "PodList", "items": []}'}
DEEP = b"[" * 5000 + b"]" * 5000
HUGE_INT = b'{"level": "info", "n": ' + b"9" * 5000 + b"}"
ZT_LOG = layout.pod_log(layout.Component.ZTUNNEL, "istio-system", "ztunnel-a", "istio-proxy", previous=False)


def _analyze(bundle: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["analyze", str(bundle), "-o", "json", "--out-file", str(bundle.with_suffix(".json"))])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("body", [DEEP, b"[" + b"9" * 5000 + b"]"], ids=["deep", "huge-int"])
def test_istiod_version_that_is_hostile_json_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bytes
) -> None:
    """Was: RecursionError / ValueError traceback from a raw json.loads in the loader."""
    member = layout.istiod_version("istiod-1")
    code, err = _analyze(write_bundle(tmp_path / "b.tar.gz", {**PODS, member: body}), capsys)
    assert code == Exit.BAD_INPUT and err.count("\n") == 1, err
    assert err.startswith(f"ztbundle: error: {tmp_path / 'b.tar.gz'}:{member}: ")
    assert "nested deeper than 64" in err or "digits" in err


@pytest.mark.parametrize("line", [DEEP, HUGE_INT], ids=["deep", "huge-int"])
def test_hostile_json_log_line_is_an_unparsed_line_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: bytes
) -> None:
    """Was: RecursionError / ValueError from json.loads of one ztunnel log line."""
    good = b'{"level": "info", "scope": "ztunnel::proxy", "message": "ok", "time": "2026-01-01T11:59:00Z"}'
    code, err = _analyze(
        write_bundle(tmp_path / "b.tar.gz", {**PODS, ZT_LOG: good + b"\n" + line + b"\n"}), capsys
    )
    assert code in (Exit.OK, Exit.FINDINGS), err
    report = json.loads(tmp_path.joinpath("b.tar.json").read_text())
    assert [f for f in report["findings"] if f["code"] == "ZT901"] == []  # no rule crashed on it


@pytest.mark.parametrize("keep", [3, 4, 9, 12])
def test_gzip_header_cut_short_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep: int
) -> None:
    """Was: TypeError from tarfile's gzip-header parser (ord of an empty read) for a 3-byte file."""
    whole = write_bundle(tmp_path / "whole.tar.gz", PODS).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(
        whole[:keep] if keep != 12 else whole[:3] + bytes([whole[3] | 4]) + whole[4:11]
    )  # FEXTRA cut
    code, err = _analyze(cut, capsys)
    assert code == Exit.BAD_INPUT and err.count("\n") == 1, err
    assert err.startswith(f"ztbundle: error: {cut}: "), err
