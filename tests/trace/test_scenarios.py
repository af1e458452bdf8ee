"""On each simulated fault, a trace of an affected connection names the broken hop and the fault's rule;
an unaffected connection in the same bundle is ok at every hop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from analyzer.trace import HopKey, Verdict
from tests.fakecluster import scenarios
from tests.fakecluster.scenario import UNAVAILABLE_SIGNING, CertOverride, Drift, Scenario, ZtunnelOverride
from tests.trace.bundles import traced

N1, N2, N3 = scenarios.NODES


def _pod(scn: Scenario, app: str, version: str | None = None) -> object:
    return next(
        p
        for p in scn.pods
        if p.labels.get("app") == app and (version is None or p.labels.get("version") == version)
    )


def _on(scn: Scenario, node: str, override: ZtunnelOverride) -> Scenario:
    return scn.with_overrides(ztunnels={node: override}, name="fault")


def rogue_root(scn: Scenario) -> Scenario:
    return _on(scn, N2, ZtunnelOverride(root="rogue-root"))


def details_cert_from_future(scn: Scenario) -> Scenario:
    return _on(
        scn,
        N2,
        ZtunnelOverride(
            certificates={"default/bookinfo-details": CertOverride(valid_from=timedelta(hours=2))}
        ),
    )


def productpage_cert_unavailable(scn: Scenario) -> Scenario:
    return _on(
        scn,
        N1,
        ZtunnelOverride(certificates={"default/bookinfo-productpage": CertOverride(UNAVAILABLE_SIGNING)}),
    )


def productpage_missing(scn: Scenario) -> Scenario:
    pp = _pod(scn, "productpage")
    return _on(scn, N1, ZtunnelOverride(drift=Drift(missing_workloads=frozenset({pp.ref}))))  # type: ignore[attr-defined]


def reviews_v2_no_proxy(scn: Scenario) -> Scenario:
    pp, v2 = _pod(scn, "productpage"), _pod(scn, "reviews", "v2")
    scn = scn.with_overrides(
        ztunnels={
            N2: ZtunnelOverride(workload_state={v2.ref: None}),  # type: ignore[attr-defined]
            N1: ZtunnelOverride(logs=(scenarios.hbone_refused(pp.ip, v2.ip),)),  # type: ignore[attr-defined]
        },
        name="fault",
    )
    return scn


def details_port_blocked(scn: Scenario) -> Scenario:
    pp, details = _pod(scn, "productpage"), _pod(scn, "details")
    return _on(scn, N1, ZtunnelOverride(logs=(scenarios.hbone_timeout(pp.ip, details.ip),)))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Fault:
    inject: Callable[[Scenario], Scenario]
    source: str  # app label (app:version for one pod)
    target: str
    hop: HopKey
    verdict: Verdict
    code: str
    unaffected: tuple[str, str] = ("reviews:v3", "default/ratings")


FAULTS = {
    "ZT206-rogue-root": Fault(
        rogue_root, "productpage", "default/details", HopKey.SOURCE_IDENTITY, Verdict.BROKEN, "ZT206"
    ),
    "ZT204-cert-from-future": Fault(
        details_cert_from_future,
        "productpage",
        "default/details:9080",
        HopKey.DESTINATION_SIDE,
        Verdict.BROKEN,
        "ZT204",
    ),
    "ZT202-cert-unavailable": Fault(
        productpage_cert_unavailable,
        "productpage",
        "default/details",
        HopKey.SOURCE_IDENTITY,
        Verdict.BROKEN,
        "ZT202",
    ),
    "ZT101-source-missing": Fault(
        productpage_missing, "productpage", "default/reviews", HopKey.SOURCE_ENROLLED, Verdict.BROKEN, "ZT101"
    ),
    "ZT302-no-inpod-proxy": Fault(
        reviews_v2_no_proxy, "productpage", "reviews-v2", HopKey.DESTINATION_SIDE, Verdict.BROKEN, "ZT302"
    ),
    "ZT302-one-endpoint-of-three": Fault(
        reviews_v2_no_proxy,
        "productpage",
        "default/reviews:9080",
        HopKey.DESTINATION_SIDE,
        Verdict.DEGRADED,
        "ZT302",
    ),
    "ZT601-port-blocked": Fault(
        details_port_blocked,
        "productpage",
        "default/details",
        HopKey.DESTINATION_SIDE,
        Verdict.BROKEN,
        "ZT601",
    ),
}


def _ref(t: object, spec: str) -> str:
    app, _, version = spec.partition(":")
    return t.pod(app, **({"version": version} if version else {}))  # type: ignore[attr-defined]


def _target(t: object, spec: str) -> str:
    if "/" in spec or "." in spec:
        return spec
    app, _, version = spec.partition("-")
    return _ref(t, f"{app}:{version}")


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_names_its_hop_and_rule_and_spares_other_paths(name: str, tmp_path: Path) -> None:
    fault = FAULTS[name]
    t = traced(fault.inject(scenarios.bookinfo()), tmp_path)
    got = t.trace(_ref(t, fault.source), _target(t, fault.target))
    c = got.conclusion
    assert (c.hop, c.verdict) == (fault.hop, fault.verdict), c.text
    hop = got.hops[fault.hop - 1]
    assert fault.code in [f.code for f in hop.findings], [f.code for f in hop.findings]
    assert c.finding is not None and c.finding.incident and c.finding.fix
    assert all(h.verdict is Verdict.OK for h in got.hops[: fault.hop - 1]), [h.verdict for h in got.hops]
    src, dst = fault.unaffected
    spared = t.trace(_ref(t, src), dst)
    assert [h.verdict for h in spared.hops] == [Verdict.OK] * 7, spared.conclusion.text
    assert spared.conclusion.verdict is Verdict.OK and spared.conclusion.hop is None


def test_healthy_bookinfo_traces_ok_everywhere(tmp_path: Path) -> None:
    t = traced(scenarios.bookinfo(), tmp_path)
    for src, dst in (
        ("productpage", "default/details:9080"),
        ("productpage", "reviews.default.svc.cluster.local"),
        ("curl", "default/productpage"),
        ("reviews:v1", "default/ratings"),
    ):
        got = t.trace(_ref(t, src), dst)
        assert [h.verdict for h in got.hops] == [Verdict.OK] * 7, got.conclusion.text
        assert got.hops[HopKey.OBSERVED_TRAFFIC - 1].checks, "observed traffic shows the records it read"


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> object:
    return traced(scenarios.broken(), tmp_path_factory.mktemp("broken"))


@pytest.mark.parametrize(
    ("source", "target", "hop", "code"),
    [
        ("productpage", "default/details", HopKey.SOURCE_ENROLLED, "ZT101"),
        ("curl", "default/details", HopKey.DESTINATION_SIDE, "ZT204"),
        ("curl", "default/productpage", HopKey.SOURCE_IDENTITY, "ZT206"),
        ("reviews:v3", "default/ratings", HopKey.DESTINATION_RESOLVED, "ZT405"),
    ],
)
def test_broken_scenario_names_the_first_broken_hop(
    broken: object, source: str, target: str, hop: HopKey, code: str
) -> None:
    got = broken.trace(_ref(broken, source), target)  # type: ignore[attr-defined]
    assert got.conclusion.hop == hop, got.conclusion.text
    assert got.conclusion.finding is not None and got.conclusion.finding.code == code
    assert got.conclusion.finding.incident in {i.id for i in broken.result.incidents}  # type: ignore[attr-defined]


def test_observed_traffic_is_broken_when_every_record_of_the_pair_failed(broken: object) -> None:
    got = broken.trace(_ref(broken, "curl"), "default/details")  # type: ignore[attr-defined]
    hop = got.hops[HopKey.OBSERVED_TRAFFIC - 1]
    assert hop.verdict is Verdict.BROKEN
    assert "policy rejection" in hop.checks[0].text and hop.checks[0].evidence[0].line
