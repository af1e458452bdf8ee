"""Content the reader accepts never crashes a command: parsed into something sane, or one line.

Each case edits one thing in a real bundle (`samples/bookinfo.tar.gz`) and re-signs it, so the
integrity checks pass and the edited content reaches the parsers, the loader, the rules and every
view. Every bundle command then exits 0/1, or 3 with exactly one `ztbundle: error:` line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import resign
from tests.security.commands import Run, run_all
from ztbundle.exits import Exit

FILES = resign.members()
ZT = resign.ztunnels(FILES)[0]
METRICS = f"ztunnel/{ZT}/metrics.txt"


def _metric_inf() -> dict[str, bytes]:
    line = next(x for x in FILES[METRICS].splitlines() if x and not x.startswith(b"#"))
    return resign.replace(FILES, METRICS, line, line.rsplit(b" ", 1)[0] + b" +Inf")


def _pods(edit: Callable[[dict[str, Any]], None]) -> dict[str, bytes]:
    doc = json.loads(FILES["cluster/pods.json"])
    edit(doc)
    return {**FILES, "cluster/pods.json": json.dumps(doc).encode()}


def _rename_ztunnel_pod(doc: dict[str, Any]) -> None:
    for item in doc["items"]:
        if item["metadata"]["name"] == ZT:
            item["metadata"]["name"] = "Evil_Z"


def _failed_artifact(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        doc["artifacts"].append(
            dict(doc["artifacts"][0], path=path, input="ztunnel-config", status="error", error="HTTP 500",
                 stored=False, bytes=0, sha256=None)
        )  # fmt: skip

    return edit


def _rename_member(old: str, new: str) -> tuple[dict[str, bytes], Callable[[dict[str, Any]], None]]:
    files = {new if n == old else n: b for n, b in FILES.items()}

    def edit(doc: dict[str, Any]) -> None:
        for a in doc["artifacts"]:
            if a["path"] == old:
                a["path"] = new

    return files, edit


def _bad_time(doc: dict[str, Any]) -> None:
    doc["started_at"] = "2026-02-30T00:00:00Z"


# name -> (members, manifest edit, the one-line error every command must print; None: must succeed)
CASES: dict[str, tuple[dict[str, bytes], Callable[[dict[str, Any]], None] | None, str | None]] = {
    "json-number-1e999": (
        resign.replace(FILES, "cluster/pods.json", b'"restartCount":0', b'"restartCount":1e999'),
        None,
        r"cluster/pods\.json: invalid JSON: number 1e999 is out of range",
    ),
    "json-nan-literal": (
        resign.replace(FILES, "cluster/pods.json", b'"restartCount":0', b'"restartCount":NaN'),
        None,
        r"cluster/pods\.json: invalid JSON: NaN is not a JSON number",
    ),
    "lone-surrogate-in-label": (
        resign.replace(FILES, "cluster/pods.json", b'"app":"curl"', b'"app":"curl\\ud800"'),
        None,
        None,
    ),
    "metric-value-inf": (_metric_inf(), None, None),
    "ztunnel-pod-not-dns": (
        _pods(_rename_ztunnel_pod),
        None,
        r"cluster/pods\.json: unexpected content \(ValueError: pod name 'Evil_Z' is not a DNS-1123 name\)",
    ),
    "member-path-not-dns": (
        *_rename_member(f"ztunnel/{ZT}/metrics.txt", "ztunnel/Evil_Z/metrics.txt"),
        r"manifest\.json: does not match the manifest schema at artifacts/\d+/path: "
        r"'ztunnel/Evil_Z/metrics\.txt' is not a bundle path \(a segment is not a DNS-1123 name\)",
    ),
    "failed-artifact-path-not-dns": (
        FILES,
        _failed_artifact("ztunnel/Evil_Z/config_dump.json"),
        r"manifest\.json: does not match the manifest schema at artifacts/\d+/path: "
        r"'ztunnel/Evil_Z/config_dump\.json' is not a bundle path \(a segment is not a DNS-1123 name\)",
    ),
    "manifest-time-2026-02-30": (
        FILES,
        _bad_time,
        r"manifest\.json: started_at: '2026-02-30T00:00:00Z' is not a valid date and time",
    ),
}


CONTENT = {"json-number-1e999", "json-nan-literal", "ztunnel-pod-not-dns"}  # the archive itself is sound


def _check(run: Run, bundle: Path, line: str | None) -> None:
    assert "Traceback" not in run.err, str(run)
    if line is None:
        assert run.code in (Exit.OK, Exit.FINDINGS), str(run)
        return
    assert run.code == Exit.BAD_INPUT, str(run)
    assert run.err.count("\n") == 1, str(run)
    assert re.fullmatch(f"ztbundle: error: {re.escape(str(bundle))}:{line}\n", run.err), str(run)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_command_survives_odd_content(case: str, tmp_path: Path) -> None:
    files, edit, line = CASES[case]
    bundle = resign.write(files, tmp_path / f"{case}.tar.gz", edit)
    for run in run_all(bundle, ZT, tmp_path / "work"):
        if run.argv[0] == "extract" and case in CONTENT:
            assert run.code == Exit.OK, str(
                run
            )  # extract writes member bytes as stored: how one inspects them
            continue
        _check(run, bundle, line)


def test_a_lone_surrogate_is_shown_as_the_replacement_character(tmp_path: Path) -> None:
    from analyzer.bundle import parse_json

    assert parse_json("b", "m", '{"k\\udc00": ["a\\ud800", "\\ud83d\\ude00"]}') == {
        "k\ufffd": ["a\ufffd", "\U0001f600"]
    }


def test_a_non_finite_metric_counts_as_malformed() -> None:
    from analyzer.parse.metrics import parse_metrics

    parsed = parse_metrics("a_total 1\nb_total +Inf\nc_total NaN\n")
    assert [s.name for s in parsed.samples] == ["a_total"] and parsed.malformed == 2


def test_json_is_bounded_by_its_object_count_and_density() -> None:
    from analyzer.bundle import parse_json
    from analyzer.errors import BundleError

    flood = "[" + "{}," * 150_000 + "{}]"
    with pytest.raises(BundleError, match=r"JSON has 150002 objects and arrays in 450004 bytes"):
        parse_json("b", "m", flood)
    with pytest.raises(BundleError, match=r"JSON has more than 1000 objects and arrays"):
        parse_json("b", "m", '{"a": [' + '{"k": 1},' * 1000 + "{}]}", max_containers=1000)
    sparse = [{"name": f"pod-{i}", "ip": "10.0.0.1"} for i in range(150_000)]
    assert parse_json("b", "m", json.dumps(sparse)) == sparse  # real JSON: ~40 bytes per object
    assert parse_json("b", "m", json.dumps(["{[{[" * 50_000]))  # brackets inside strings are not counted
