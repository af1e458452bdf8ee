"""A body handed over with its layout is stored byte for byte as the key-searching writer stores it.

The runner and the redactor tell the writer where a dump's members start and which big ones it has
seen (`members.Layout`), so the writer neither searches for keys nor compares pieces again. The
bundle must not change: the same objects, recipes and sha256 as the path that searches the bytes.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector import body as body_module
from collector import judge, members, redact
from collector.archive import BundleWriter
from collector.body import Body, Budget
from collector.runcache import RunCache
from tests.collector.bundle_io import Run, collect
from tests.fakecluster import FakeCluster, scenarios
from ztbundle import layout
from ztbundle.layout import Input

MESH = {f"uid-{i}": {"name": f"pod-{i}", "ip": f"10.0.{i // 250}.{i % 250}"} for i in range(2000)}


def _pretty(doc: object) -> bytes:
    return json.dumps(doc, indent=2).encode() + b"\n"


def _dump(node: str, token: bool = True, **extra: object) -> bytes:
    config: dict[str, Any] = {"node": node, "pad": "x" * 300}
    if token:
        config["xdsHeaders"] = [["authorization", f"Bearer secret-{node}"]]
    doc = {"certificates": [node], "config": config, "policies": [], "services": MESH, "workloads": MESH}
    return _pretty(doc | extra)


BODIES = [
    _dump("a"),
    _dump("b"),  # services and workloads repeat a's
    _dump("c", token=False),  # stored as received
    _dump("d", zz=1),  # a last member small enough to merge into the workloads piece
    _dump("e", zz=1)[:-3] + b',\n  "q": "' + b"y" * 300 + b'"\n}\n',  # the same, then cut after it
    _dump("f", services={"other": 1}),  # a small services member merges with policies
    _dump("g", token=False, services=MESH),
    _dump("h") + b"  \n",  # whitespace after the closing brace
    json.dumps(MESH).encode(),  # compact: one piece, no layout
    json.dumps(MESH).encode(),
    _pretty({"only": MESH}),
]


def _through_worker(data: bytes, cache: RunCache, path: str) -> Body:
    """What `runner.fetch_one` does with a JSON body before the writer sees it."""
    body = Body.of(data)
    with cache.parse_lock:
        read = members.Read(body.read_bytes(), cache.known)
        judge.judge_read(read, body, None, Input.ZTUNNEL_CONFIG, cache)
        out, _, _ = redact.apply(path, body, None, is_json=True, cache=cache, read=read)
        assert out is not None
        if out is body:
            out.sha256_from(read.data)
            if read.split is not None:
                out.layout = read.layout()
    return out


def _objects(out: Path) -> dict[str, bytes]:
    with tarfile.open(out, "r:gz") as tar:
        return {i.name: tar.extractfile(i).read() for i in tar if i.isfile()}  # type: ignore[union-attr]


def test_recipes_and_objects_match_the_searching_writer(tmp_path: Path) -> None:
    cache = RunCache()
    laid, searched = BundleWriter(tmp_path / "laid.tar.gz"), BundleWriter(tmp_path / "searched.tar.gz")
    with_layout = 0
    for round_ in range(2):  # the second round finds every big piece made of known members
        for i, data in enumerate(BODIES):
            path = f"ztunnel/n{round_}-{i}/config_dump.json"
            out = _through_worker(data, cache, path)
            with_layout += out.layout is not None
            plain = Body.of(out.read_bytes())  # no layout, digest not yet known: cut by searching
            recipe = laid.put(path, out, Input.ZTUNNEL_CONFIG)
            assert recipe == searched.put(path, plain, Input.ZTUNNEL_CONFIG), path
            assert out.sha256 == plain.sha256, path
    laid.finish(layout.MANIFEST, b"{}")
    searched.finish(layout.MANIFEST, b"{}")
    assert with_layout == 2 * (len(BODIES) - 2)  # every pretty-printed one, redacted or not
    assert _objects(laid.out).keys() == _objects(searched.out).keys()
    assert {k: v for k, v in _objects(laid.out).items() if k != layout.MANIFEST} == {
        k: v for k, v in _objects(searched.out).items() if k != layout.MANIFEST
    }


def test_a_rebuilt_member_holding_a_key_match_gets_no_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layout promises its starts are every key match; a rebuilt member that broke it is searched."""
    real = redact._walk_member

    def walk(data: bytes, m: members.Member, configmap_data: bool) -> Any:
        walked = real(data, m, configmap_data)
        if walked is not None and walked.text is not None:
            return type(walked)(walked.counts, walked.text + '\n  "sneaky": 1')
        return walked

    monkeypatch.setattr(redact, "_walk_member", walk)
    out = _through_worker(_dump("a"), RunCache(), "ztunnel/a/config_dump.json")
    assert out.layout is None and b'\n  "sneaky": 1' in out.read_bytes()


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeCluster]:
    with FakeCluster(
        scenarios.synthetic(nodes=4, pods_per_node=6).with_overrides(istio_version="1.24.2")
    ) as c:
        yield c


def _recipes(run: Run) -> dict[str, tuple[Any, ...]]:
    return {
        a["path"]: (a["status"], a["bytes"], a["sha256"], tuple(a["pieces"]))
        for a in run.manifest["artifacts"]
        if a.get("storage") == layout.Storage.RECIPE
    }


def test_a_collect_stores_the_same_bundle_as_the_searching_path(
    cluster: FakeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    laid_out: list[str] = []
    real = BundleWriter._put_laid_out

    def spy(self: BundleWriter, body: Body, laid: members.Layout) -> tuple[str, ...]:
        laid_out.append(body.sha256)
        return real(self, body, laid)

    monkeypatch.setattr(BundleWriter, "_put_laid_out", spy)
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    new = collect(cluster, tmp_path / "new")
    assert new.code == 0 and laid_out  # the layout path ran
    # The same with every body past 1 KiB on disk: the writer reads back only the pieces it stores.
    reads: list[int] = []
    real_pread = Body.pread
    monkeypatch.setattr(Body, "pread", lambda self, a, b: reads.append(b - a) or real_pread(self, a, b))
    with monkeypatch.context() as disk_only:
        disk_only.setattr(body_module, "MEMORY", Budget(0))
        disk_only.setattr(body_module, "SPOOL_BYTES", 1024)
        laid_out.clear()
        (tmp_path / "disk").mkdir()
        disk = collect(cluster, tmp_path / "disk")
    assert disk.code == 0 and laid_out and reads
    assert _recipes(disk) == _recipes(new) and disk.objects == new.objects
    # The path before layouts: no layout handed over, no digest trusted, every big body on disk.
    monkeypatch.setattr(members.Read, "layout", lambda self: None)
    monkeypatch.setattr(members, "Layout", lambda *args: None)
    monkeypatch.setattr(Body, "hashed", property(lambda self: False))
    monkeypatch.setattr(body_module, "MEMORY", Budget(0))
    laid_out.clear()
    old = collect(cluster, tmp_path / "old")
    assert old.code == 0 and not laid_out
    assert _recipes(new) == _recipes(old) and len(_recipes(new)) >= 4 * 3
    redacted = [r for r in new.manifest["redactions"] if r["artifact"].endswith("config_dump.json")]
    assert redacted  # the dumps' config members were rebuilt, so their layouts were the redactor's
    assert new.objects == old.objects
