"""Benchmarks P1–P4 in one run, side by side, per synthetic cluster size.

    .venv/bin/python -m bench.run                      # 100 and 1,000 nodes × 20 pods each, 50 ms/request
    .venv/bin/python -m bench.run --nodes 100 300      # the sizes that fit on this machine
    .venv/bin/python -m bench.run --quick              # CI smoke run: 3 and 6 nodes, seconds

P1  `ztbundle collect` against FakeCluster(synthetic(N, 20)) with 50 ms added to every request:
    wall vs the concurrency-bound ideal (requests × latency ÷ concurrency), the child's peak RSS;
    wall vs the transport floor (the same requests through the same server by the thinnest client,
    `bench.floor`, same concurrency), the collector's CPU per MB moved, and MB moved per node. The
    fake's render caches are warmed before the collect (`bench.warm`): collect and floor meet the same server.
P2  that bundle's size (logs capped by --max-size), and what --no-dedup would write (bench.run.no_dedup_mb).
P3  `ztbundle analyze -o json` of the P1 bundle: wall, peak RSS, and the floor — the bare time
    to decompress the archive and json-parse its unique content once (every object, every raw member).
P4  `ztbundle analyze samples/bookinfo.tar.gz`, interpreter start included (bench.analyze.p4).

Collect and analyze each run as their own child process (bench.collect / bench.analyze.run_child).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analyze import commit, p4, run_child, ztbundle  # noqa: E402
from bench.collect import collect_into  # noqa: E402

if TYPE_CHECKING:
    from analyzer.bundle import BundleFiles

TARGETS = (
    "issue 17 at 1,000 nodes: moved ≤ 60 % of 28.5 GB (≤ 17.1 GB, 17.1 MB/node), P1 ≤ 1.5× floor, "
    "collector CPU ≤ 8.2 ms/MB (half of 469 s / 28.5 GB), RSS ≤ 300 MB, P3 ≤ 4× floor; at 100 nodes "
    "P1 ≤ 2.5× ideal · issue 5: P2 ≤ 25 MB, P3 ≤ 30 s and ≤ 1 GiB, P4 ≤ 1 s"
)

# Decompress every member and parse each unique piece of JSON once: the least any analysis must do.
FLOOR = r"""
import json, sys, tarfile, time
from ztbundle import layout

def piece(b):
    s = b.strip()
    if s.startswith(b"{") and s.endswith(b"}"):
        return json.loads(s)  # a whole document (compact bodies are one piece)
    s = s[1:] if s.startswith(b"{") else s  # the first piece opens the document
    s = s[:-1] if s.endswith(b"\n}") else s  # the last one closes it
    return json.loads(b"{" + s.rstrip().rstrip(b",") + b"}")

t0 = time.perf_counter()
with tarfile.open(sys.argv[1], "r:gz") as tar:
    members = {i.name: tar.extractfile(i).read() for i in tar if i.isfile()}
t1 = time.perf_counter()
for name, data in members.items():
    if layout.parse_object_member(name):
        try:
            piece(data)
        except ValueError:
            pass  # a text body (e.g. istiod's 404 "not connected"), nothing to parse
    elif name.endswith(".json"):
        try:
            json.loads(data)
        except ValueError:
            pass  # e.g. istiod's version.json is plain text
t2 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
"""


@functools.lru_cache(maxsize=1)
def _opened(bundle: str) -> BundleFiles:
    """The bundle, opened once per worker process."""
    from analyzer.bundle import open_bundle
    from analyzer.limits import DEFAULT

    return open_bundle(bundle, DEFAULT.scaled(16))


def _gzip_size(job: tuple[str, str]) -> int:
    """gzip -6 size of one logical member, plus its tar header."""
    import zlib

    bundle, name = job
    files = _opened(bundle)
    # Piece by piece, as `extract` writes them: reading a recipe whole is charged against the reader's
    # rebuild budget, which a 1,000-node bundle (28 GB rebuilt from 23 MB) rightly exceeds.
    pieces = files.members.piece_bytes(name) if hasattr(files.members, "piece_bytes") else None
    chunks = [files.read(name)] if pieces is None else [p for _, p in pieces]
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    return sum(len(z.compress(c)) for c in chunks) + len(z.flush()) + 512


def no_dedup_mb(bundle: Path) -> float:
    """What `--no-dedup` (format 1) would weigh: every artifact's raw bytes gzipped (level 6, as the
    collector writes), plus a tar header each. Computed from the deduplicated bundle on both cores
    instead of collecting the cluster a second time (at 1,000 nodes that is 28 GB through the
    port-forward again); at 100 nodes it matches a real `--no-dedup` collect within a few percent.
    """
    from concurrent.futures import ProcessPoolExecutor

    names = list(_opened(str(bundle)).names())
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        total = sum(pool.map(_gzip_size, [(str(bundle), n) for n in names], chunksize=16))
    return total / 1e6


@dataclass(frozen=True, slots=True)
class Row:
    nodes: int
    pods: int
    p1: dict[str, float]
    raw_mb: float
    p3_wall: float
    p3_rss: float
    p3_exit: int
    floor_read: float
    floor_parse: float


def measure(nodes: int, per_node: int, latency: float, concurrency: int, tmp: Path, keep: Path | None) -> Row:
    from tests.fakecluster import FakeCluster, scenarios

    # istio 1.24: istiod's per-proxy WDS view is the whole mesh (1.25+ answers `{}`), the heavier case.
    scn = scenarios.synthetic(nodes=nodes, pods_per_node=per_node).with_overrides(istio_version="1.24.2")
    out = (keep or tmp) / f"scale-{nodes}x{per_node}.tar.gz"
    with FakeCluster(scn) as cluster:
        p1 = collect_into(out, nodes, latency, concurrency, per_node, ("--deadline", "3600s"), cluster)
        print(f"  {nodes} nodes: P1 done in {p1['wall_s']:.0f} s", file=sys.stderr, flush=True)
    raw_mb = no_dedup_mb(out)
    report = tmp / "report.json"
    p3 = run_child(
        ztbundle("analyze", str(out), "-o", "json", "--out-file", str(report), "--limit-scale", "16")
    )
    floor = run_child([sys.executable, "-c", FLOOR, str(out)])
    if floor.exit != 0:
        sys.exit(f"bench: floor failed: {floor.stderr[-400:]}")
    read_s, parse_s = (float(x) for x in floor.stdout.split())
    if keep is None:
        out.unlink()
    return Row(nodes, nodes * per_node, p1, raw_mb, p3.wall_s, p3.peak_rss_mib, p3.exit, read_s, parse_s)


HEADER = (
    "| nodes | pods | requests | P1 wall s | ideal s | ratio | floor s | P1/floor | CPU ms/MB "
    "| floor CPU ms/MB | MB/node "
    "| RSS MiB | P2 MB | no-dedup MB | P3 wall s | RSS MiB | floor s (read+parse) | P3/floor |"
)


def line(r: Row) -> str:
    floor = r.floor_read + r.floor_parse
    p1 = r.p1
    exit_note = "" if p1["exit"] == 0 else f" (exit {p1['exit']:.0f})"
    p3_note = "" if r.p3_exit in (0, 1) else f" (exit {r.p3_exit})"
    return (
        f"| {r.nodes:,} | {r.pods:,} | {p1['requests']:,.0f} | {p1['wall_s']:.1f}{exit_note} "
        f"| {p1['ideal_s']:.1f} | {p1['ratio']:.2f} "
        f"| {p1['floor_s']:.1f} | {p1['wall_s'] / p1['floor_s']:.2f} "
        f"| {1000 * p1['collector_cpu_s'] / p1['moved_mb']:.1f} "
        f"| {1000 * p1['floor_cpu_s'] / p1['moved_mb']:.1f} "
        f"| {p1['moved_mb'] / r.nodes:.2f} "
        f"| {p1['peak_rss_mb']:.0f} "
        f"| {p1['bundle_mb']:.2f} | {r.raw_mb:.1f} "
        f"| {r.p3_wall:.2f}{p3_note} | {r.p3_rss:.0f} | {floor:.2f} ({r.floor_read:.2f}+{r.floor_parse:.2f}) "
        f"| {r.p3_wall / floor:.1f}× |"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, nargs="+", default=[100, 1000], help="cluster sizes (nodes)")
    p.add_argument("--pods-per-node", type=int, default=20)
    p.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5, help="P4 repetitions (median)")
    p.add_argument("--keep", type=Path, help="keep the P1 bundles in this directory")
    p.add_argument("--quick", action="store_true", help="CI smoke run: 3 and 6 nodes × 9 pods, 1 P4 run")
    args = p.parse_args(argv)
    if args.quick:
        args.nodes, args.pods_per_node, args.repeats = [3, 6], 9, 1
    print(f"commit {commit()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s); targets: {TARGETS}")
    print(
        "floor: the same requests by the thinnest client (bench.floor); CPU ms/MB: the collector's (and the "
        "floor client's) CPU per MB moved through the API server; MB/node: that traffic per node"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.nodes:
            rows.append(measure(n, args.pods_per_node, args.latency, args.concurrency, Path(tmp), args.keep))
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    for r in rows:
        print(line(r))
    for a, b in zip(rows, rows[1:], strict=False):
        print(
            f"{a.nodes} → {b.nodes} nodes: P1 wall ×{b.p1['wall_s'] / a.p1['wall_s']:.1f}, "
            f"RSS ×{b.p1['peak_rss_mb'] / a.p1['peak_rss_mb']:.2f}; "
            f"P2 ×{b.p1['bundle_mb'] / a.p1['bundle_mb']:.1f}; "
            f"P3 ×{b.p3_wall / a.p3_wall:.1f}"
        )
    median, walls = p4(args.repeats)
    print(f"P4: analyze samples/bookinfo.tar.gz median {median:.2f} s of {len(walls)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
