"""Bundles for the view tests, written by the REAL collector against the simulated cluster."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakecluster import FakeCluster, Scenario, scenarios
from ztbundle.cli import main
from ztbundle.exits import Exit

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
"""The simulated cluster's clock: certificates, logs and pod ages are relative to it (stable goldens)."""
NOW_ARG = "2025-06-01T12:00:00Z"
GOLDEN = Path(__file__).parent / "golden"


def collect(scenario: Scenario, out: Path) -> Path:
    with FakeCluster(scenario) as fc:
        rc = main(fc.collect_argv(out, "--quiet"))
    assert rc in (Exit.OK, Exit.INCOMPLETE) and out.exists()
    return out


@pytest.fixture(scope="session")
def bookinfo_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return collect(scenarios.bookinfo(now=NOW), tmp_path_factory.mktemp("views") / "bookinfo.tar.gz")


@pytest.fixture(scope="session")
def broken_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return collect(scenarios.broken(now=NOW), tmp_path_factory.mktemp("views") / "broken.tar.gz")


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare text with tests/views/golden/<name>; ZTBUNDLE_REGEN_GOLDEN=1 rewrites the file instead."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if os.environ.get("ZTBUNDLE_REGEN_GOLDEN"):
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"golden file {path} missing (run with ZTBUNDLE_REGEN_GOLDEN=1)"
        assert text == path.read_text(encoding="utf-8")

    return check


@pytest.fixture(scope="session")
def degraded_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bookinfo where every ztunnel /metrics answers 500 and pod logs are forbidden by RBAC."""
    from tests.fakecluster import Fault
    from tests.fakecluster.faults import FaultKind

    out = tmp_path_factory.mktemp("views") / "degraded.tar.gz"
    scn = scenarios.bookinfo(now=NOW)
    ztunnels = [p.name for p in scn.pods if p.labels.get("app") == "ztunnel"]
    faults = (*(Fault(FaultKind.HTTP_500, pod=z, port=15020) for z in ztunnels), Fault.forbidden("pods/log"))
    with FakeCluster(scn, faults) as fc:
        rc = main(fc.collect_argv(out, "--quiet"))
    assert rc == Exit.INCOMPLETE and out.exists()
    return out
