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
