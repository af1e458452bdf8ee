"""Shared pytest fixtures: simulated clusters (see tests/fakecluster)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from tests.fakecluster import FakeCluster, Fault, Scenario, scenarios


@pytest.fixture
def fake_cluster() -> Iterator[Callable[..., FakeCluster]]:
    """Factory `fake_cluster(scenario=None, faults=(), latency_ms=0)`; clusters stop at teardown."""
    started: list[FakeCluster] = []

    def start(scenario: Scenario | None = None, faults: Iterable[Fault] = (), **kwargs: Any) -> FakeCluster:
        cluster = FakeCluster(scenario or scenarios.bookinfo(), faults, **kwargs)
        cluster.start()
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


@pytest.fixture(scope="module")
def bookinfo_cluster() -> Iterator[FakeCluster]:
    """One healthy bookinfo cluster shared by a module's read-only tests (add no faults to it)."""
    with FakeCluster(scenarios.bookinfo()) as cluster:
        yield cluster
