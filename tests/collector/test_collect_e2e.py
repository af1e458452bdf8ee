"""`ztbundle collect` end to end: the real CLI and kubernetes client against FakeCluster over sockets."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from collector.discovery import PAGE
from tests.collector.bundle_io import Run, assert_members_match_manifest, collect
from tests.fakecluster import FakeCluster, Fault, scenarios
from tests.fakecluster.scenario import IstiodOverride, Role, ZtunnelOverride
from tests.fakecluster.scenarios import NODES
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

Start = Callable[..., FakeCluster]


def _ztunnel(cluster: FakeCluster, node: str = NODES[0]) -> str:
    pod = cluster.scenario.ztunnel_on(node)
    assert pod is not None
    return pod.name


def _istiod(cluster: FakeCluster) -> str:
    return cluster.scenario.pods_by_role(Role.ISTIOD)[0].name


# --- healthy ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy(
    bookinfo_cluster: FakeCluster, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, FakeCluster]:
    return collect(bookinfo_cluster, tmp_path_factory.mktemp("healthy")), bookinfo_cluster


def test_healthy_bookinfo_is_complete_and_every_artifact_ok(healthy: tuple[Run, FakeCluster]) -> None:
    run, cluster = healthy
    assert run.code == Exit.OK
    assert run.manifest["complete"] is True and run.manifest["interrupted"] is False
    assert run.not_ok() == {}
    scn = cluster.scenario
    ztunnels = scn.pods_by_role(Role.ZTUNNEL)
    istiods = scn.pods_by_role(Role.ISTIOD)
    paths = {a["path"] for a in run.manifest["artifacts"]}
    for zt in ztunnels:
        assert layout.ztunnel_config_dump(zt.name) in paths
        assert layout.ztunnel_metrics(zt.name) in paths
        for istiod in istiods:
            assert layout.istiod_proxy_config(istiod.name, zt.name) in paths
            assert layout.istiod_proxy_policies(istiod.name, zt.name) in paths
    for member in (
        *layout.CLUSTER_LISTS.values(),
        layout.CLUSTER_VERSION,
        layout.MESH_CONFIG,
        layout.TOOL_LOG,
    ):
        assert member in paths
    assert run.manifest["istio_versions"] == [scn.istio_version]
    assert run.manifest["context"] == cluster.context and run.manifest["istio_namespace"] == "istio-system"
    assert run.manifest["server_version"]
    assert stat.S_IMODE(run.out.stat().st_mode) == 0o600
    assert not run.out.with_name(run.out.name + ".partial").exists()


def test_healthy_members_match_manifest_digests(healthy: tuple[Run, FakeCluster]) -> None:
    assert_members_match_manifest(healthy[0])


def test_lists_are_merged_and_config_dump_is_stored_byte_for_byte(healthy: tuple[Run, FakeCluster]) -> None:
    run, cluster = healthy
    pods = json.loads(run.members[layout.PODS])
    assert pods["kind"] == "PodList" and "continue" not in pods["metadata"]
    assert {p["metadata"]["name"] for p in pods["items"]} == {p.name for p in cluster.scenario.pods}
    zt = _ztunnel(cluster)
    dump = run.members[layout.ztunnel_config_dump(zt)]
    assert "workloads" in json.loads(dump)
    assert dump.startswith(b"{\n")  # ztunnel pretty-prints; we kept its exact bytes, not a re-dump


def test_collector_never_reads_secrets_nor_uses_pod_proxy(healthy: tuple[Run, FakeCluster]) -> None:
    _, cluster = healthy
    seen = [str(r) for r in cluster.requests]
    assert not [s for s in seen if "/secrets" in s]
    assert not [s for s in seen if "/proxy" in s.split(" -> ")[0]]
    forwards = [r for r in cluster.requests if r.port == 15000]
    assert forwards and all(r.path.endswith("/portforward") for r in forwards)


def test_tool_log_is_in_the_bundle_without_the_token(healthy: tuple[Run, FakeCluster]) -> None:
    run, cluster = healthy
    log = run.members[layout.TOOL_LOG].decode()
    assert "found Istio in istio-system" in log
    assert "Connection pool is full" not in log  # urllib3's warning when a fan-out outgrows a pool
    for body in run.members.values():
        assert cluster.token.encode() not in body


# --- faults: the bundle keeps everything else, the manifest names the failure, exit 4 ----------------

FaultCase = tuple[Callable[[FakeCluster], Fault], Callable[[FakeCluster], str], str, str, tuple[str, ...]]


def _zt_dump(c: FakeCluster) -> str:
    return layout.ztunnel_config_dump(_ztunnel(c))


FAULTS: dict[str, FaultCase] = {
    "hang": (
        lambda c: Fault.hang(20, pod=_ztunnel(c), port=15000),
        _zt_dump,
        "timeout",
        "no response within 2s",
        (),
    ),
    "http-500": (lambda c: Fault.http_500(pod=_ztunnel(c), port=15000), _zt_dump, "error", "HTTP 500", ()),
    "truncated-json": (
        lambda c: Fault.truncated_json(pod=_ztunnel(c), port=15000),
        _zt_dump,
        "truncated",
        "invalid JSON at byte",
        (),
    ),
    # The client's port-forward proxy drops bytes still buffered when the WebSocket closes, so a
    # close right after half the body may reach us as "nothing at all": error, not truncated.
    "close-mid-body": (
        lambda c: Fault.close_mid_body(pod=_ztunnel(c), port=15000),
        _zt_dump,
        "truncated|error",
        "connection closed",
        (),
    ),
    "huge-body": (
        lambda c: Fault.huge_body(4, pod=_ztunnel(c), port=15000),
        _zt_dump,
        "truncated",
        "larger than the 1048576-byte cap",
        ("--max-artifact-size", "1Mi"),
    ),
    "forbidden": (
        lambda c: Fault.forbidden("services"),
        lambda c: layout.SERVICES,
        "forbidden",
        "403 Forbidden: cannot list services in all namespaces",
        (),
    ),
    "pod-deleted": (lambda c: Fault.pod_deleted(_ztunnel(c)), _zt_dump, "error", "404", ()),
    "portforward-error": (
        lambda c: Fault.portforward_error(_ztunnel(c), port=15000, message="connection refused on 15000"),
        _zt_dump,
        "error",
        "connection refused on 15000",
        (),
    ),
    "istiod-500": (
        lambda c: Fault.http_500(pod=_istiod(c), port=15014, path="/debug/syncz"),
        lambda c: layout.istiod_syncz(_istiod(c)),
        "error",
        "HTTP 500",
        (),
    ),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_recorded_and_everything_else_collected(
    name: str, fake_cluster: Start, tmp_path: Path
) -> None:
    make_fault, path_of, status, message, extra = FAULTS[name]
    cluster = fake_cluster()
    cluster.faults.append(make_fault(cluster))
    started = time.monotonic()
    run = collect(cluster, tmp_path, *extra)
    elapsed = time.monotonic() - started
    assert run.code == Exit.INCOMPLETE
    assert run.manifest["complete"] is False
    failed = run.not_ok()
    target = path_of(cluster)
    assert failed[target]["status"] in status.split("|")
    assert message in (failed[target]["error"] or "")
    # A deleted pod loses all its per-pod artifacts; any other fault loses exactly one.
    if name == "pod-deleted":
        assert all(_ztunnel(cluster) in p for p in failed)
        assert any(p.endswith(".log") for p in failed)
    else:
        assert set(failed) == {target}
    assert_members_match_manifest(run)
    assert elapsed < 12, f"one bad target must not stall the run ({elapsed:.1f}s)"
    if name == "huge-body":
        assert run.manifest["trims"] == [
            {
                "artifact": target,
                "bytes_kept": 1 << 20,
                "bytes_dropped": pytest.approx(3_000_000, rel=0.3),
                "rule": "max-artifact-bytes",
            }
        ]
        assert len(run.members[target]) == 1 << 20


def test_http_error_body_is_kept_as_received(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster()
    cluster.faults.append(Fault.http_500(pod=_ztunnel(cluster), port=15000))
    run = collect(cluster, tmp_path)
    a = run.artifact(_zt_dump(cluster))
    assert a["stored"] is True and a["bytes"] == len(run.members[a["path"]]) > 0


def test_summary_lists_what_is_missing_and_why(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    cluster.faults.append(Fault.forbidden("pods/log"))
    run = collect(cluster, tmp_path)
    out = capsys.readouterr().out
    assert run.code == Exit.INCOMPLETE
    assert out.startswith("incomplete: ")
    assert "forbidden: 403 Forbidden: cannot get pods/log" in out
    assert f"bundle: {run.out}" in out


# --- istiod replicas, --node, restarts, pagination, --since ------------------------------------------


def test_two_replicas_each_ztunnel_asked_only_of_its_own_replica(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster(scenarios.bookinfo(istiod_replicas=2))
    run = collect(cluster, tmp_path)
    per_proxy = cluster.requested("/debug/config_dump?proxyID=")
    ztunnels = cluster.scenario.pods_by_role(Role.ZTUNNEL)
    routing = run.manifest["routing"]
    fetched = len(routing["shared_views"]) + len(routing["ztunnels_fetched_alone"])
    assert len(per_proxy) == 2 * fetched < 2 * len(ztunnels), "WDS and WADS, once per shared group"
    assert [r for r in per_proxy if r.admin_status == 404] == []
    assert run.not_ok() == {}
    assert run.code == Exit.OK and run.manifest["complete"] is True
    assert run.manifest["routing"]["path"] == "connected-replica"


def test_ztunnel_connected_nowhere_makes_bundle_incomplete(fake_cluster: Start, tmp_path: Path) -> None:
    scn = scenarios.bookinfo().with_overrides(istiod={NODES[1]: IstiodOverride(connected=False)})
    cluster = fake_cluster(scn)
    run = collect(cluster, tmp_path)
    zt = _ztunnel(cluster, NODES[1])
    assert run.code == Exit.INCOMPLETE
    assert {a["input"] for p, a in run.not_ok().items() if zt in p} == {
        "istiod-proxy-config",
        "istiod-proxy-policies",
    }


def test_node_filter_limits_per_node_pods_and_proxy_fetches(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster()
    run = collect(cluster, tmp_path, "--node", NODES[0])
    assert run.code == Exit.OK
    paths = [a["path"] for a in run.manifest["artifacts"]]
    wanted = _ztunnel(cluster, NODES[0])
    assert [p for p in paths if p.startswith("ztunnel/") and p.endswith("config_dump.json")] == [
        layout.ztunnel_config_dump(wanted)
    ]
    assert {p.split("/")[3].split(".")[0] for p in paths if "/proxy/" in p} == {wanted}
    assert [p for p in paths if p.startswith("cni/")] and all(
        cluster.scenario.pod("istio-system", p.split("/")[1]).node == NODES[0]  # type: ignore[union-attr]
        for p in paths
        if p.startswith("cni/")
    )
    assert any(p.startswith("istiod/") and p.endswith(".log") for p in paths)  # istiod is never filtered


def test_previous_logs_are_fetched_after_restarts(fake_cluster: Start, tmp_path: Path) -> None:
    scn = scenarios.bookinfo().with_overrides(ztunnels={NODES[0]: ZtunnelOverride(restarts=2)})
    cluster = fake_cluster(scn)
    run = collect(cluster, tmp_path)
    zt = _ztunnel(cluster)
    logs = sorted(p for p in run.members if p.startswith(f"ztunnel/{zt}/logs/"))
    assert logs == [f"ztunnel/{zt}/logs/istio-proxy.log", f"ztunnel/{zt}/logs/istio-proxy.previous.log"]
    assert run.code == Exit.OK


def test_lists_follow_continue_pagination(fake_cluster: Start, tmp_path: Path) -> None:
    scn = scenarios.synthetic(nodes=30, pods_per_node=20, istiod_replicas=1)
    assert len(scn.pods) > PAGE
    cluster = fake_cluster(scn)
    run = collect(cluster, tmp_path, "--node", "node-001")
    pods = json.loads(run.members[layout.PODS])
    assert len(pods["items"]) == len(scn.pods)
    assert [r for r in cluster.requests if r.path == "/api/v1/pods" and r.query.get("continue")]


def test_since_limits_log_requests(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster()
    collect(cluster, tmp_path, "--since", "5m")
    logs = [r for r in cluster.requests if r.path.endswith("/log")]
    assert logs and all(r.query.get("sinceSeconds") == "300" for r in logs)


def test_kubeconfig_env_is_read_at_call_time(
    fake_cluster: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = fake_cluster()
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    out = tmp_path / "env.tar.gz"
    assert main(["collect", "--out-file", str(out), "--quiet", "--timeout", "2"]) == Exit.OK
    assert out.exists()


def test_default_bundle_name_uses_context(
    fake_cluster: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = fake_cluster()
    monkeypatch.chdir(tmp_path)
    assert main(["collect", "--kubeconfig", str(cluster.kubeconfig), "--quiet"]) == Exit.OK
    [bundle] = list(tmp_path.glob("ztbundle-*.tar.gz"))
    assert bundle.name.startswith(f"ztbundle-{cluster.context}-") and bundle.name.endswith("Z.tar.gz")


# --- nothing collected: exit 6, one line ---------------------------------------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("ztbundle: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_unreachable_cluster_exits_1_with_one_line(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    url = cluster.url
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(cluster.kubeconfig.read_text())
    cluster.stop()  # the port is now closed: connection refused
    out = tmp_path / "b.tar.gz"
    code = main(
        ["collect", "--kubeconfig", str(kubeconfig), "--out-file", str(out), "--quiet", "--timeout", "2"]
    )
    assert code == Exit.NOTHING_COLLECTED and not out.exists()
    err = _one_line_error(capsys)
    assert f"cannot reach the API server at {url}" in err and "Connection refused" in err


def test_bad_token_exits_1_with_one_line(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    run = collect(cluster, tmp_path, context=cluster.bad_context)
    assert run.code == Exit.NOTHING_COLLECTED and not run.out.exists()
    err = _one_line_error(capsys)
    assert "credentials rejected (401 Unauthorized)" in err and "this-token-is-not-valid" not in err


def test_no_istio_exits_1_with_one_line(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scn = scenarios.bookinfo()
    bare = dataclasses.replace(scn, pods=tuple(p for p in scn.pods if p.role is Role.APP))
    cluster = fake_cluster(bare)
    run = collect(cluster, tmp_path)
    assert run.code == Exit.NOTHING_COLLECTED and not run.out.exists()
    assert "no Istio found" in _one_line_error(capsys)


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collect", "--timeout", "soon"]) == Exit.USAGE
    assert main(["collect", "--concurrency", "0"]) == Exit.USAGE


# --- deadline and interrupt: the partial archive is still written ------------------------------------


def test_deadline_writes_partial_archive(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster()
    # Discovery (5 requests) plus ~34 items × 0.2 s over 2 workers needs ~4.5 s, more than the 3 s
    # deadline (which includes discovery); one metrics request also hangs past it.
    cluster.faults += [Fault.latency(0.2), Fault.hang(20, pod=_ztunnel(cluster), port=15020)]
    started = time.monotonic()
    run = collect(cluster, tmp_path, "--deadline", "3", "--concurrency", "2", "--timeout", "10")
    assert time.monotonic() - started < 5
    assert run.code == Exit.INCOMPLETE
    assert run.manifest["deadline_exceeded"] is True and run.manifest["complete"] is False
    skipped = [a for a in run.manifest["artifacts"] if a["status"] == "skipped"]
    assert skipped and all(a["error"].startswith("deadline exceeded") and not a["stored"] for a in skipped)
    assert run.members[layout.NODES]  # what came first is there
    assert_members_match_manifest(run)


def _interrupting(after: int, action: Callable[[], Any]) -> Callable[..., None]:
    calls = {"n": 0}

    def progress(self: Any, event: Any) -> None:
        if event.done >= after:
            calls["n"] += 1
            if calls["n"] == 1:
                action()

    return progress


def _raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(_raise_keyboard_interrupt, id="KeyboardInterrupt"),
        pytest.param(lambda: os.kill(os.getpid(), signal.SIGINT), id="SIGINT"),
    ],
)
def test_interrupt_exits_130_with_archive_written(
    how: Callable[[], None], fake_cluster: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ztbundle.commands import collect as command

    monkeypatch.setattr(command._PlainProgress, "__call__", _interrupting(5, how))
    cluster = fake_cluster()
    out = tmp_path / "b.tar.gz"
    code = main(
        ["collect", "--kubeconfig", str(cluster.kubeconfig), "--out-file", str(out), "--concurrency", "1"]
    )
    assert code == Exit.INTERRUPTED
    from tests.collector.bundle_io import read_bundle

    manifest, _, _ = read_bundle(out)
    assert manifest["interrupted"] is True and manifest["complete"] is False
    statuses = {a["status"] for a in manifest["artifacts"]}
    assert {"ok", "skipped"} <= statuses
    assert all(
        a["error"].startswith("interrupted") for a in manifest["artifacts"] if a["status"] == "skipped"
    )


def test_the_cycle_collector_runs_rarely_during_a_collect_and_as_before_after(tmp_path: Path) -> None:
    """A collect frees nearly everything by reference counting: the young-generation threshold is raised
    while it runs (the cycle collector walked the heap 2,000 times at 1,000 nodes for nothing) and the
    process gets its own setting back, whatever it was."""
    import gc

    from collector.collect import CollectRequest, run_collect
    from collector.discovery import Options

    seen: list[tuple[int, int, int]] = []
    before = gc.get_threshold()
    gc.set_threshold(1234, 7, 9)
    try:
        with FakeCluster(scenarios.bookinfo()) as cluster:
            request = CollectRequest(
                options=Options(),
                kubeconfig=str(cluster.kubeconfig),
                context=cluster.context,
                out=tmp_path / "bundle.tar.gz",
            )
            run_collect(request, progress=lambda event: seen.append(gc.get_threshold()))
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)
    assert seen and set(seen) == {(100_000, 7, 9)}
    assert after == (1234, 7, 9)
