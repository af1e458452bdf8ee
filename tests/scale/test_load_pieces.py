"""Format 2 loads from its pieces: each shared section parsed once, the model exactly the slow path's."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from analyzer import xds as normalize
from analyzer.bundle import BundleFiles, open_bundle
from analyzer.load import load_bundle
from analyzer.parse import config_dump_text
from analyzer.store import LogicalMembers
from collector.archive import cut_points
from tests.collector.bundle_io import Run, collect
from tests.fakecluster import FakeCluster, scenarios
from ztbundle import layout


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeCluster]:
    # istio 1.24: istiod's per-proxy WDS views are full, identical across ztunnels (memoised by content).
    with FakeCluster(
        scenarios.synthetic(nodes=5, pods_per_node=8).with_overrides(istio_version="1.24.2")
    ) as c:
        yield c


@pytest.fixture(scope="module")
def runs(cluster: FakeCluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return {
        "v2": collect(cluster, tmp_path_factory.mktemp("v2")),
        "v1": collect(cluster, tmp_path_factory.mktemp("v1"), "--no-dedup"),
    }


def _slow(files: BundleFiles) -> BundleFiles:
    """The same bundle seen as plain rebuilt members: no recipes, no manifest sha256 to memoise by."""
    manifest = json.loads(json.dumps(files.manifest))
    for a in manifest["artifacts"]:
        a.pop("sha256", None)
    return dataclasses.replace(files, members=dict(files.members), manifest=manifest)


def test_pieces_model_equals_the_slow_path_and_the_no_dedup_bundle(runs: dict[str, Run]) -> None:
    files = open_bundle(runs["v2"].out)
    assert isinstance(files.members, LogicalMembers)
    fast, slow = load_bundle(files), load_bundle(_slow(files))
    assert fast == slow
    assert len(fast.ztunnels) == 5 and all(z.config_dump_path for z in fast.ztunnels)
    assert any(z.xds.workloads for z in fast.ztunnels)
    assert any(v.xds.workloads for i in fast.istiods for v in i.views.values())
    # Same cluster collected without dedup (format 1, memoised by manifest sha256): same parsed content.
    v1 = load_bundle(open_bundle(runs["v1"].out))
    assert v1.ztunnels == fast.ztunnels
    assert [(i.name, i.views, i.ambientz) for i in v1.istiods] == [
        (i.name, i.views, i.ambientz) for i in fast.istiods
    ]


def test_every_collected_dump_takes_the_pieces_path(runs: dict[str, Run]) -> None:
    """Guards against a silent fallback: the pieces path must accept what the collector writes."""
    files = open_bundle(runs["v2"].out)
    members = files.members
    assert isinstance(members, LogicalMembers)
    cache, intern = config_dump_text.PieceCache(), normalize.Interner()
    dumps = [a["path"] for a in files.manifest["artifacts"] if a["input"] == layout.Input.ZTUNNEL_CONFIG]
    total = 0
    for path in dumps:
        pieces = members.piece_bytes(path)
        assert pieces is not None and len(pieces) > 1, path
        total += len(pieces)
        got = config_dump_text.parse_config_dump_pieces(pieces, intern, json.loads, cache)
        want = config_dump_text.parse_config_dump_text(files.text(path), normalize.Interner(), json.loads)
        assert got == want, path
    assert len(cache.xds) == 1  # every ztunnel lists the same mesh: one xDS state built, shared
    assert len(cache.sections) < total  # shared pieces split once, not once per dump


def _cut(text: str) -> list[tuple[str, bytes]]:
    data = text.encode()
    points = cut_points(data)
    return [
        (f"p{i}", data[a:b]) for i, (a, b) in enumerate(zip(points, [*points[1:], len(data)], strict=True))
    ]


def _dump(**extra: Any) -> dict[str, Any]:
    wl = {"uid": "Kubernetes//Pod/a/p", "name": "p", "namespace": "a", "workloadIps": ["10.0.0.1"]}
    pad = "x" * 300  # each section over the collector's 256-byte merge threshold: one piece per key
    return {
        "config": {"localNode": "n1", "pad": pad},
        "workloads": [wl, {**wl, "uid": "Kubernetes//Pod/a/q", "name": "q"}],
        "services": [],
        "policies": [],
        "certificates": [{"identity": pad, "state": "Available"}],
        **extra,
    }


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(_dump(), indent=2),
        "\n \t" + json.dumps(_dump(version={"istioVersion": "1.24.2"}), indent=2) + "\n\n",
        json.dumps(_dump(workloads={"10.0.0.1": {"uid": "u", "name": "m", "namespace": "a"}}), indent=2),
        json.dumps(_dump(), indent=2).replace(
            '\n  "config"', '\n  "services": [\n    {"x": 1}\n  ],\n  "config"'
        ),
    ],
    ids=["plain", "surrounding-whitespace", "map-shape", "duplicate-key"],
)
def test_pieces_parse_equals_text_parse(text: str) -> None:
    pieces = _cut(text)
    assert len(pieces) > 1
    got = config_dump_text.parse_config_dump_pieces(
        pieces, normalize.Interner(), json.loads, config_dump_text.PieceCache()
    )
    assert got == config_dump_text.parse_config_dump_text(text, normalize.Interner(), json.loads)


def test_pieces_not_cut_before_a_key_fall_back() -> None:
    data = json.dumps(_dump(), indent=2).encode()
    mid = data.index(b'"name"')  # inside the workloads section: a section would span two pieces
    pieces = [("a", data[:mid]), ("b", data[mid:])]
    assert (
        config_dump_text.parse_config_dump_pieces(
            pieces, normalize.Interner(), json.loads, config_dump_text.PieceCache()
        )
        is None
    )
    compact = json.dumps(_dump()).encode()  # one piece, no top-level key at line starts
    assert (
        config_dump_text.parse_config_dump_pieces(
            [("c", compact)], normalize.Interner(), json.loads, config_dump_text.PieceCache()
        )
        is None
    )
    bad = [("d", data[:-2] + b"\xff\n}")]  # invalid UTF-8: the text path names the byte
    assert (
        config_dump_text.parse_config_dump_pieces(
            bad, normalize.Interner(), json.loads, config_dump_text.PieceCache()
        )
        is None
    )
