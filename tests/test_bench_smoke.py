"""The benchmarks still run: a tiny `bench.run --quick` prints every figure (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_run_quick_prints_p1_to_p4() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "| nodes | pods | requests | P1 wall s |" in out
    rows = [line for line in out.splitlines() if line.startswith("| 3 |") or line.startswith("| 6 |")]
    assert len(rows) == 2 and all(len(r.split("|")) == 20 for r in rows), rows
    assert "P4: analyze samples/bookinfo.tar.gz median" in out



def test_warm_renders_what_a_collect_asks_so_the_collect_meets_a_warm_server(tmp_path: Path) -> None:
    """After `bench.warm`, a collect renders no ztunnel dump, istiod view, ambientz, metrics or log anew."""
    sys.path.insert(0, str(ROOT))
    import bench.analyze
    from bench.collect import collect_into
    from tests.fakecluster import FakeCluster, payloads, scenarios
    from tests.fakecluster.logs import component_log, ztunnel_metrics

    renders = (
        payloads.ztunnel_config_dump_pieces,
        payloads._istiod_dump_bytes,
        payloads.ambientz_bytes,
        ztunnel_metrics,
        component_log,
    )

    def misses() -> list[int]:
        return [f.cache_info().misses for f in renders]  # type: ignore[attr-defined]

    at_launch: list[int] = []
    original = bench.analyze.run_child

    def spy(cmd: list[str]) -> bench.analyze.Run:
        if "collect" in cmd and not at_launch:
            at_launch.extend(misses())  # collect_into has warmed the caches by now
        return original(cmd)

    scn = scenarios.synthetic(nodes=3, pods_per_node=4).with_overrides(istio_version="1.24.2")
    bench.analyze.run_child = spy
    try:
        with FakeCluster(scn) as cluster:
            result = collect_into(tmp_path / "b.tar.gz", 3, 0.0, 4, 4, cluster=cluster)
    finally:
        bench.analyze.run_child = original
    assert result["exit"] in (0, 4) and result["requests"] > 0
    assert at_launch and misses() == at_launch, (at_launch, misses())
