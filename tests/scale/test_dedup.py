"""Format 2 storage: shared objects, exact reconstruction, and format-1 bundles still loading."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import rules
from analyzer import analyze_bundle
from analyzer.bundle import open_bundle
from analyzer.errors import BundleError
from analyzer.load import load_bundle
from collector.archive import cut_points
from tests.collector.bundle_io import Run, collect
from tests.fakecluster import FakeCluster, scenarios
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

NODES = 6


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeCluster]:
    # istio 1.24: istiod's per-proxy WDS views are full (1.25+ answers `{}`), so they dedupe too.
    with FakeCluster(
        scenarios.synthetic(nodes=NODES, pods_per_node=9).with_overrides(istio_version="1.24.2")
    ) as c:
        yield c


@pytest.fixture(scope="module")
def runs(cluster: FakeCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return {
        "v2": collect(cluster, tmp_path_factory.mktemp("v2")),
        "v1": collect(cluster, tmp_path_factory.mktemp("v1"), "--no-dedup"),
    }


def _recipes(run: Run) -> dict[str, dict]:  # type: ignore[type-arg]
    return {a["path"]: a for a in run.manifest["artifacts"] if a.get("storage") == "recipe"}


def test_every_artifact_rebuilds_byte_exact_with_the_manifest_sha256(runs: dict[str, Run]) -> None:
    v2, v1 = runs["v2"], runs["v1"]
    assert v2.manifest["format_version"] == 2 and v1.manifest["format_version"] == 1
    files = open_bundle(v2.out)
    stored = [a for a in v2.manifest["artifacts"] if a["stored"]]
    assert len(_recipes(v2)) >= NODES * 3  # every config_dump and istiod view is a recipe
    for a in stored:
        data = files.read(a["path"])
        assert len(data) == a["bytes"] and hashlib.sha256(data).hexdigest() == a["sha256"], a["path"]
    # Same cluster, no dedup: every dump is the very same bytes (logs and timing-dependent bodies aside).
    for path in _recipes(v2):
        if "/proxy/" in path or path.endswith("config_dump.json"):
            assert files.read(path) == v1.members[path], path
    assert sorted(files.names()) == sorted([*(a["path"] for a in stored), layout.MANIFEST])


def test_objects_are_shared_across_ztunnels(runs: dict[str, Run]) -> None:
    v2, v1 = runs["v2"], runs["v1"]
    dumps = [a for p, a in _recipes(v2).items() if p.endswith("/config_dump.json")]
    assert len(dumps) == NODES
    common = set.intersection(*(set(a["pieces"]) for a in dumps))
    biggest = max(common, key=lambda d: len(v2.objects[layout.object_member(d)]))
    assert b'"workloads": [' in v2.objects[layout.object_member(biggest)]
    for a in dumps:
        assert len(a["pieces"]) >= 3 and len(set(a["pieces"]) - common) >= 1  # config etc. are per node
    views = [a for p, a in _recipes(v2).items() if "/proxy/" in p and not p.endswith(".wads.json")]
    served = [a for a in views if a["status"] == "ok"]
    assert len(served) == NODES and len({tuple(a["pieces"]) for a in served}) == 1  # identical: one object
    # Each ztunnel is asked only of the replica syncz shows it connected to: no 404 "not connected".
    assert [a for a in views if a["status"] != "ok"] == []
    objects = list(v2.objects)
    assert len(objects) == len({d for a in _recipes(v2).values() for d in a["pieces"]})
    raw = sum(len(v1.members[p]) for p in _recipes(v2))
    assert sum(len(v2.objects[n]) for n in objects) < raw / 3  # 6 ztunnels: well under half


def test_a_format_1_bundle_from_the_collector_still_loads_and_analyzes(runs: dict[str, Run]) -> None:
    v1, v2 = runs["v1"], runs["v2"]
    assert not v1.objects and not any(n.startswith("objects/") for n in v1.names)
    assert all("storage" not in a for a in v1.manifest["artifacts"])
    one, two = (load_bundle(open_bundle(r.out)) for r in (v1, v2))
    assert [z.name for z in one.ztunnels] == [z.name for z in two.ztunnels]
    assert [len(z.xds.workloads) for z in one.ztunnels] == [len(z.xds.workloads) for z in two.ztunnels]
    found = [analyze_bundle(open_bundle(r.out), rules.all_rules()).findings for r in (v1, v2)]
    codes = [sorted(f.code for f in findings) for findings in found]
    assert codes[0] == codes[1]


def test_extract_writes_the_raw_files_back(runs: dict[str, Run], tmp_path: Path) -> None:
    v2 = runs["v2"]
    zt = next(p for p in _recipes(v2) if p.endswith("/config_dump.json")).split("/")[1]
    assert main(["extract", str(v2.out), "--ztunnel", zt, str(tmp_path / "one")]) == Exit.OK
    written = {
        p.relative_to(tmp_path / "one").as_posix() for p in (tmp_path / "one").rglob("*") if p.is_file()
    }
    assert layout.ztunnel_config_dump(zt) in written and not any(w.startswith("objects") for w in written)
    assert main(["extract", str(v2.out), str(tmp_path / "all")]) == Exit.OK
    for a in v2.manifest["artifacts"]:
        if a["stored"]:
            data = (tmp_path / "all" / a["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == a["sha256"], a["path"]


def test_cut_points_split_before_top_level_keys_and_lose_nothing() -> None:
    doc = {
        "config": {"a": "x" * 300},
        "services": [{"n": i} for i in range(40)],
        "v": 1,
        "workloads": [1] * 200,
    }
    data = json.dumps(doc, indent=2).encode()
    points = cut_points(data)
    pieces = [data[a:b] for a, b in zip(points, [*points[1:], len(data)], strict=True)]
    assert b"".join(pieces) == data
    assert [p.split(b'"')[1] for p in pieces] == [
        b"config",
        b"services",
        b"v",
    ]  # tiny "v" rides with workloads
    assert cut_points(json.dumps(doc).encode()) == [0]  # compact JSON: one piece


def _rewrite(src: Path, dst: Path, edit: callable) -> None:  # type: ignore[valid-type]
    import io
    import tarfile

    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        members = [(i, tin.extractfile(i).read()) for i in tin]  # type: ignore[union-attr]
        for info, data in edit(members):
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def test_tampered_objects_and_recipes_are_one_line_errors(runs: dict[str, Run], tmp_path: Path) -> None:
    v2 = runs["v2"]

    def flip_object(members):  # type: ignore[no-untyped-def]
        first = True
        for info, data in members:
            if info.name.startswith("objects/") and first:
                first = False
                data = data[:-1] + b"!"
            yield info, data

    def drop_piece(members):  # type: ignore[no-untyped-def]
        for info, data in members:
            if info.name == layout.MANIFEST:
                doc = json.loads(data)
                a = next(a for a in doc["artifacts"] if a.get("storage") == "recipe")
                a["pieces"] = a["pieces"][1:]
                data = json.dumps(doc).encode()
            yield info, data

    for edit, problem in ((flip_object, "does not match its sha256"), (drop_piece, "recipe rebuilds")):
        bad = tmp_path / f"{edit.__name__}.tar.gz"
        _rewrite(v2.out, bad, edit)
        with pytest.raises(BundleError, match=problem):
            open_bundle(bad)
