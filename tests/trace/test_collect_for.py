"""`collect --for POD --to TARGET` on a 100-node cluster: only the path's ztunnels, the same trace verdict."""

from __future__ import annotations

import json
import tarfile
from datetime import timedelta
from pathlib import Path

import pytest
from _pytest.capture import CaptureFixture

from tests.fakecluster import scenarios
from tests.fakecluster.cluster import FakeCluster
from tests.fakecluster.scenario import CertOverride, Scenario, ZtunnelOverride
from ztbundle.cli import main
from ztbundle.exits import Exit


def _cluster() -> Scenario:
    """100 nodes; the node of svc-0003's pods holds a certificate from the future for their identity."""
    scn = scenarios.synthetic(nodes=100, pods_per_node=3)
    target = next(p for p in scn.pods if p.labels.get("app") == "svc-0003")
    override = ZtunnelOverride(
        certificates={
            f"{target.namespace}/{target.service_account}": CertOverride(valid_from=timedelta(hours=2))
        }
    )
    return scn.with_overrides(ztunnels={target.node or "": override})


def _ztunnels(bundle: Path) -> set[str]:
    """Ztunnel pods whose config_dump the manifest lists as collected."""
    arts = _manifest(bundle)["artifacts"]
    assert isinstance(arts, list)
    return {
        a["path"].split("/")[1]
        for a in arts
        if a["path"].startswith("ztunnel/") and a["path"].endswith("config_dump.json") and a["status"] == "ok"
    }


def _manifest(bundle: Path) -> dict[str, object]:
    with tarfile.open(bundle) as tar:
        f = tar.extractfile("manifest.json")
        assert f is not None
        doc: dict[str, object] = json.loads(f.read())
        return doc


@pytest.mark.slow
def test_collect_for_gathers_only_the_path_and_traces_the_same(
    tmp_path: Path, capsys: CaptureFixture[str]
) -> None:
    scn = _cluster()
    src = next(p for p in scn.pods if p.labels.get("app") == "svc-0000" and p.node == "node-001")
    dst = [p for p in scn.pods if p.labels.get("app") == "svc-0003"]
    dst_nodes = {p.node for p in dst}
    zt_of = {p.node: p.name for p in scn.pods if p.name.startswith("ztunnel-")}
    small, full = tmp_path / "path.tar.gz", tmp_path / "full.tar.gz"
    with FakeCluster(scn) as fc:
        base = ["collect", "--kubeconfig", str(fc.kubeconfig), "--context", fc.context, "--quiet", "--yes"]
        target = f"{dst[0].namespace}/svc-0003"
        assert (
            main([*base, "--out-file", str(small), "--for", f"{src.namespace}/{src.name}", "--to", target])
            == Exit.OK
        )
        assert main([*base, "--out-file", str(full)]) in (Exit.OK, Exit.INCOMPLETE)
    assert _ztunnels(small) == {zt_of[n] for n in {src.node} | dst_nodes}
    assert len(_ztunnels(full)) == 100
    selection = _manifest(small)["options"]["selection"]  # type: ignore[index]
    assert (
        selection["for"] == [f"{src.namespace}/{src.name}"]
        and set(selection["nodes"]) == {src.node} | dst_nodes
    )
    capsys.readouterr()
    verdicts = []
    for bundle in (small, full):
        assert main(["trace", str(bundle), "--from", src.name, "--to", target, "-o", "json"]) == Exit.OK
        doc = json.loads(capsys.readouterr().out)
        verdicts.append(
            (doc["verdict"]["verdict"], doc["verdict"]["hop"], (doc["verdict"]["finding"] or {}).get("code"))
        )
    assert verdicts[0] == verdicts[1] == ("broken", 6, "ZT204")


def test_to_without_for_is_a_usage_error(capsys: CaptureFixture[str]) -> None:
    assert main(["collect", "--to", "default/reviews"]) == Exit.USAGE
    assert "--to needs --for" in capsys.readouterr().err


def test_unknown_for_pod_names_the_closest(
    bookinfo_cluster: FakeCluster, tmp_path: Path, capsys: CaptureFixture[str]
) -> None:
    fc = bookinfo_cluster
    argv = [
        "collect",
        "--kubeconfig",
        str(fc.kubeconfig),
        "--context",
        fc.context,
        "--quiet",
        "--out-file",
        str(tmp_path / "b.tar.gz"),
        "--for",
        "default/productpag",
    ]
    assert main(argv) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "closest: default/productpage-" in err
    assert not (tmp_path / "b.tar.gz").exists()


def test_collect_for_keeps_the_targets_waypoint_and_records_the_selection(tmp_path: Path) -> None:
    scn = scenarios.with_waypoint(scenarios.bookinfo())  # the waypoint runs on the third node
    pp = next(p for p in scn.pods if p.labels.get("app") == "productpage")
    details = next(p for p in scn.pods if p.labels.get("app") == "details")
    waypoint = next(p for p in scn.pods if p.name.startswith("waypoint"))
    zt_of = {p.node: p.name for p in scn.pods if p.name.startswith("ztunnel-")}
    out = tmp_path / "b.tar.gz"
    with FakeCluster(scn) as fc:
        argv = [
            "collect",
            "--kubeconfig",
            str(fc.kubeconfig),
            "--context",
            fc.context,
            "--quiet",
            "--out-file",
            str(out),
        ]
        assert main([*argv, "--for", pp.name, "--to", "details.default.svc.cluster.local:9080"]) == Exit.OK
    assert _ztunnels(out) == {zt_of[pp.node], zt_of[details.node]} and waypoint.node not in {
        pp.node,
        details.node,
    }
    manifest = _manifest(out)
    paths = {a["path"] for a in manifest["artifacts"]}  # type: ignore[union-attr]
    assert any(p.startswith(f"waypoint/default/{waypoint.name}/") for p in paths), sorted(paths)
    assert manifest["options"]["selection"] == {  # type: ignore[index]
        "for": [f"default/{pp.name}"],
        "to": "Service default/details",
        "target_pods": [f"default/{details.name}"],
        "nodes": sorted({pp.node, details.node}),
        "waypoint_pods": [f"default/{waypoint.name}"],
    }
