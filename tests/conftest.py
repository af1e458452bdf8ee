"""Shared pytest fixtures: simulated clusters (see tests/fakecluster)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
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


# `pytest -m "not slow"` is the fast unit run (~10 s); CI and a bare `pytest` run everything.
# Slow: every test of a module that starts a simulated cluster (it talks to it over sockets), every
# test using a conftest fixture that starts one, the browser tests, and the modules below.
LONG_MODULES = frozenset(
    {
        "tests/test_bench_smoke.py",  # runs the benchmarks' --quick mode
        "tests/e2e/test_acceptance.py",  # collects every sample scenario
        "tests/security/test_fuzz.py",  # hypothesis over the bundle reader
        "tests/security/test_hostile_corpus.py",  # every hostile bundle through analyze
        "tests/security/test_extract.py",  # every hostile bundle through extract
    }
)
_CLUSTER = re.compile(r"\b(FakeCluster|fake_cluster|bookinfo_cluster)\b")


@cache
def _starts_clusters(path: Path) -> bool:
    return bool(_CLUSTER.search(path.read_text(encoding="utf-8")))


@cache
def _cluster_fixtures() -> frozenset[str]:
    """Functions of any conftest.py that start a simulated cluster, directly or through another one."""
    bodies: dict[str, str] = {}
    for conftest in Path(__file__).parent.rglob("conftest.py"):
        text = conftest.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                bodies[node.name] = bodies.get(node.name, "") + (ast.get_source_segment(text, node) or "")
    found = {name for name, body in bodies.items() if _CLUSTER.search(body)}
    while True:
        calls = re.compile(r"\b(" + "|".join(map(re.escape, sorted(found))) + r")\(") if found else None
        more = {n for n, body in bodies.items() if n not in found and calls and calls.search(body)}
        if not more:
            return frozenset(found)
        found |= more


def _slow(item: pytest.Item) -> bool:
    return (
        item.get_closest_marker("browser") is not None
        or item.nodeid.split("::", 1)[0] in LONG_MODULES
        or _starts_clusters(item.path)
        or not _cluster_fixtures().isdisjoint(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _slow(item):
            item.add_marker(pytest.mark.slow)
