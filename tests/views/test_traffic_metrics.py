"""`traffic` (HBONE seen, load-balancing spread) and `metrics` (the four L4 counters)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from _pytest.capture import CaptureFixture

from analyzer.views import metrics, traffic
from ztbundle.cli import main
from ztbundle.exits import Exit

EPS = ("ns/a", "ns/b", "ns/c")


def test_spread_fires_when_all_connections_go_to_one_of_three() -> None:
    s = traffic.spread("svc", {"ns/a": 30}, EPS)
    assert s.verdict is traffic.Verdict.SKEWED and s.p_value is not None and s.p_value < 1e-12
    assert s.counts == (("ns/a", 30), ("ns/b", 0), ("ns/c", 0))


@pytest.mark.parametrize("counts", [{"ns/a": 10, "ns/b": 10, "ns/c": 10}, {"ns/a": 13, "ns/b": 8, "ns/c": 9}])
def test_spread_is_quiet_on_an_even_or_noisy_even_split(counts: dict[str, int]) -> None:
    assert traffic.spread("svc", counts, EPS).verdict is traffic.Verdict.EVEN


def test_spread_withholds_judgement_below_five_expected_per_endpoint() -> None:
    assert traffic.spread("svc", {"ns/a": 14}, EPS).verdict is traffic.Verdict.TOO_FEW


def test_chi_square_p_value_matches_closed_form_for_two_degrees_of_freedom() -> None:
    import math

    chi2, p = traffic.chi_square_uniform([15, 0, 0])
    assert chi2 == 30 and math.isclose(p, math.exp(-15), rel_tol=1e-9)  # df=2: p = exp(-chi2/2)
    _, p1 = traffic.chi_square_uniform([12, 8])  # df=1: chi2=0.8 → p=0.3711
    assert math.isclose(p1, 0.37109, rel_tol=1e-4)


def test_traffic_golden_and_quiet_on_bookinfo(
    bookinfo_bundle: Path, golden: Callable[[str, str], None], capsys: CaptureFixture[str]
) -> None:
    assert main(["traffic", str(bookinfo_bundle)]) == Exit.OK
    out = capsys.readouterr()
    golden("traffic.txt", out.out)
    assert "skewed" not in out.out and "uneven" not in out.err
    assert main(["traffic", str(bookinfo_bundle), "-o", "json"]) == Exit.OK
    doc = json.loads(capsys.readouterr().out)
    assert {w["inbound"] for w in doc["workloads"] if w["name"].startswith("reviews")} == {"hbone"}
    assert [s["verdict"] for s in doc["services"]] == ["even"]


def test_metrics_sum_per_workload_and_per_ztunnel() -> None:
    src = 'reporter="source",source_workload="a",source_workload_namespace="ns"'
    dst = 'reporter="destination",destination_workload="b",destination_workload_namespace="ns"'
    text = (
        "# TYPE istio_tcp_connections_opened_total counter\n"
        f"istio_tcp_connections_opened_total{{{src}}} 3\n"
        f'istio_tcp_connections_opened_total{{{src},x="2"}} 4\n'
        f"istio_tcp_sent_bytes_total{{{dst}}} 9\n"
        "istio_build{} 1\n"
        "garbage line here\n"
    )
    m = metrics.l4_metrics({"zt-1": text})
    assert [(r.reporter, r.workload, r.opened, r.sent) for r in m.workloads] == [
        ("destination", "b", 0, 9),
        ("source", "a", 7, 0),
    ]
    assert [(r.reporter, r.opened, r.sent) for r in m.ztunnels] == [("destination", 0, 9), ("source", 7, 0)]
    assert m.malformed == (("zt-1", 1),)


def test_metrics_golden(
    bookinfo_bundle: Path, golden: Callable[[str, str], None], capsys: CaptureFixture[str]
) -> None:
    assert main(["metrics", str(bookinfo_bundle)]) == Exit.OK
    golden("metrics.txt", capsys.readouterr().out)


def test_metrics_not_collected_is_one_line_exit_5(degraded_bundle: Path, capsys: CaptureFixture[str]) -> None:
    assert (
        main(["metrics", str(degraded_bundle), "--ztunnel", _first_ztunnel(degraded_bundle)])
        == Exit.NOT_COLLECTED
    )
    err = capsys.readouterr().err
    zt = _first_ztunnel(degraded_bundle)
    assert err.startswith(
        f"ztbundle: error: {degraded_bundle}:ztunnel/{zt}/metrics.txt: no metrics for {zt} "
    )
    assert "was collected: error" in err and err.count("\n") == 1


def _first_ztunnel(bundle: Path) -> str:
    from analyzer.bundle import open_bundle  # logical paths: format-2 dumps are recipes, not members

    return sorted(n.split("/")[1] for n in open_bundle(bundle).names() if n.endswith("config_dump.json"))[0]
