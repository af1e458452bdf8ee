"""The fake cluster's clock: unpinned scenarios live at the wall clock of `FakeCluster.start()`.

The real collector stamps bundles with real time, so everything time-derived that the cluster
serves (pod times, certificates, logs, restarts, syncz) must be relative to that same moment.
"""

# The client's models type every field Optional; asserting on them is the point of these tests.
# mypy: disable-error-code="union-attr,index,arg-type,operator,no-untyped-call"

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kubernetes import client, config

from tests.fakecluster import FakeCluster, payloads, scenarios
from tests.fakecluster.scenario import DEFAULT_NOW, Role, Scenario
from ztbundle.cli import main
from ztbundle.exits import Exit

N1, N2, N3 = scenarios.NODES


def core(cluster: FakeCluster) -> client.CoreV1Api:
    api_client = config.new_client_from_config(str(cluster.kubeconfig), context=cluster.context)
    api_client.configuration.retries = 0
    return client.CoreV1Api(api_client)


def when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def offsets(scn: Scenario) -> dict[str, timedelta]:
    return {p.ref: (p.created or scn.now) - scn.now for p in scn.pods}


def test_unpinned_scenario_defaults_to_the_wall_clock() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    scn = scenarios.bookinfo()
    assert not scn.pinned and before <= scn.now <= datetime.now(UTC) and scn.now.microsecond == 0


def test_explicit_now_pins_and_rebase_keeps_every_offset() -> None:
    pinned = scenarios.broken(now=DEFAULT_NOW)
    assert pinned.pinned and pinned.now == DEFAULT_NOW
    later = pinned.rebased(DEFAULT_NOW + timedelta(days=400, seconds=7))
    assert later.now - pinned.now == timedelta(days=400, seconds=7)
    assert offsets(later) == offsets(pinned)
    gone = next(p for p in later.pods if p.deleted)
    assert gone.deleted - later.now == timedelta(minutes=-3)  # the terminating pod stays 3 min into deletion


def test_cluster_moves_an_old_unpinned_scenario_to_its_start_time() -> None:
    scn = scenarios.bookinfo().rebased(DEFAULT_NOW)  # built long ago, never pinned
    with FakeCluster(scn) as cluster:
        now = datetime.now(UTC)
        assert timedelta(0) <= now - cluster.scenario.now < timedelta(seconds=5)
        assert offsets(cluster.scenario) == offsets(scn)
        pods = core(cluster).list_pod_for_all_namespaces().items
    for pod in pods:
        created = pod.metadata.creation_timestamp
        assert now - timedelta(days=3) < created < now, pod.metadata.name
        assert pod.status.start_time == created


def test_pinned_scenario_and_pinned_cluster_keep_their_clock() -> None:
    with FakeCluster(scenarios.bookinfo(now=DEFAULT_NOW)) as cluster:
        assert cluster.scenario.now == DEFAULT_NOW
    pinned_at = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    with FakeCluster(scenarios.bookinfo(), now=pinned_at) as cluster:
        assert cluster.scenario.now == pinned_at and cluster.scenario.pinned
        nodes = core(cluster).list_node().items
    assert nodes[0].status.conditions[0].last_heartbeat_time == pinned_at


def test_served_certificates_restarts_and_logs_follow_the_start_time() -> None:
    with FakeCluster(scenarios.broken().rebased(DEFAULT_NOW)) as cluster:
        scn, api = cluster.scenario, core(cluster)
        zt1 = scn.ztunnel_on(N1)
        zt_obj = api.read_namespaced_pod(zt1.name, zt1.namespace)
        # one line per 15 s of access log: the last minute must not be empty on the real clock
        recent = api.read_namespaced_pod_log(zt1.name, zt1.namespace, since_seconds=60)
    last = zt_obj.status.container_statuses[0].last_state.terminated
    assert scn.now - timedelta(minutes=5) < last.finished_at < scn.now
    assert "connection complete" in recent
    dump = payloads.ztunnel_config_dump(scn, N3)
    for cert in dump["certificates"]:
        leaf = cert["certChain"][0]
        assert when(leaf["validFrom"]) < scn.now < when(leaf["expirationTime"])
    istiod = scn.pods_by_role(Role.ISTIOD)[0]
    sent = payloads.syncz(scn, istiod)[0]["resources"][payloads.ADDRESS_TYPE]["sentTime"]
    assert abs(datetime.fromisoformat(sent.replace("Z", "+00:00")) - scn.now) < timedelta(hours=1)


def test_real_collect_then_analyze_without_now_finds_only_planted_cert_faults(tmp_path: Path) -> None:
    bundle, report = tmp_path / "broken.tar.gz", tmp_path / "broken.json"
    with FakeCluster(scenarios.broken()) as fc:
        rc = main(fc.collect_argv(bundle))
    assert rc in (Exit.OK, Exit.INCOMPLETE)
    main(["analyze", str(bundle), "-o", "json", "--out-file", str(report)])  # no --now: the collection time
    found = {
        (f["code"], f["subject"]["name"])
        for f in json.loads(report.read_text())["findings"]
        if f["code"] in ("ZT203", "ZT204", "ZT205")
    }
    assert found == {
        ("ZT203", "bookinfo-reviews"),  # issued 30 h ago for 24 h on node 1
        ("ZT204", "bookinfo-details"),  # valid from +2 h on node 2
        ("ZT205", "curl"),  # 10 minutes left on node 2
    }
