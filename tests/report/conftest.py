"""Report fixtures: a hostile builder-made model and a bundle from the real collector."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.builders import build_bundle

if TYPE_CHECKING:
    from analyzer import AnalysisResult
    from analyzer.model import Bundle

HOSTILE = "<script>alert(1)</script>"
"""A pod name no apiserver would accept, but a bundle is untrusted input."""

ENROLLED = {"ambient.istio.io/redirection": "enabled"}

GIVEN = {
    "namespaces": [{"name": "shop", "dataplane_mode": "ambient"}],
    "nodes": [{"name": "n1"}, {"name": "n2"}, {"name": "n3"}],
    "pods": [
        {"ref": "shop/cart-0", "node": "n1", "annotations": ENROLLED},
        {"ref": f"shop/{HOSTILE}", "node": "n1", "annotations": ENROLLED},
        {"ref": "shop/api-0", "node": "n2", "annotations": ENROLLED},
        {"ref": "shop/orphan-0", "node": "n3", "annotations": ENROLLED},
    ],
    "ztunnels": [
        {
            "node": "n1",
            "workloads": ["shop/cart-0", "shop/api-0"],
            "workload_state": [{"pod": "shop/cart-0"}],
            "certificates": [{"sa": "shop/default", "leaf": {"issued": 90000, "expires_in": -3600}}],
        },
        {
            "node": "n2",
            "workloads": ["shop/cart-0", "shop/api-0"],
            "workload_state": [{"pod": "shop/api-0"}],
            "certificates": [{"sa": "shop/default"}],
        },
    ],
}


@dataclass(frozen=True, slots=True)
class Case:
    model: Bundle
    result: AnalysisResult


@pytest.fixture(scope="session")
def hostile() -> Case:
    """Three nodes: n1 has an expired cert and a pod missing from its ztunnel, n3 has no ztunnel."""
    import rules
    from analyzer import analyze_bundle

    model = build_bundle(GIVEN)
    return Case(model, analyze_bundle(model, rules.all_rules()))


@pytest.fixture(scope="session")
def collected_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle written by the REAL collector against the fake cluster's `broken` scenario."""
    from collector.steps import istiod_proxy
    from tests.fakecluster import scenarios
    from tests.fakecluster.cluster import FakeCluster
    from ztbundle.cli import main
    from ztbundle.exits import Exit

    out = tmp_path_factory.mktemp("collected") / "broken.tar.gz"
    # Every replica asked about every ztunnel, as collectors before per-replica routing did (and as the
    # fallback still does): the report must mark the other replica's 404 "not connected" as expected.
    with FakeCluster(scenarios.broken()) as fc, pytest.MonkeyPatch.context() as mp:
        mp.setattr(istiod_proxy, "routed_items", lambda plan, routes: istiod_proxy.items(plan))
        rc = main(
            ["collect", "--kubeconfig", str(fc.kubeconfig), "--context", fc.context, "--out-file", str(out)]
        )
    assert rc in (Exit.OK, Exit.INCOMPLETE) and out.exists()
    return out
