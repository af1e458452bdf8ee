"""Benchmark `ztbundle analyze`: wall time and peak RSS of a child process, on collected bundles.

Synthetic bundles (N ztunnels, each holding the same W workloads) are written by the REAL collector,
run as a child `ztbundle collect` against `FakeCluster(scenarios.synthetic(N, W // N))`, and kept in
`bench/out/` (git-ignored) so a rerun only analyzes. Each `ztbundle analyze` runs as its own child
(`python -m ztbundle analyze ...`, so interpreter start is included) and its peak RSS is that child's
own `ru_maxrss` from `os.wait4`. P4 times `ztbundle analyze samples/bookinfo.tar.gz` the same way and,
when it is over its 1 s target, shows what dominates (`-X importtime` and cProfile).

    .venv/bin/python -m bench.analyze                       # 10, 100, 1000 ztunnels × 2,000 workloads, P4
    .venv/bin/python -m bench.analyze --sizes 10 100        # fewer sizes
    .venv/bin/python -m bench.analyze --quick               # CI smoke run: tiny sizes, one repetition
    .venv/bin/python -m bench.analyze --phases              # also read / load / rules split per size
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: the fakecluster lives in the tests package
    sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench" / "out"
SAMPLE = ROOT / "samples" / "bookinfo.tar.gz"
P4_TARGET_S = 1.0
LIMIT_SCALE = "16"  # 1,000 dumps of 2,000 workloads exceed the reader's default 2 GiB total


@dataclass(frozen=True, slots=True)
class Run:
    """One finished child process."""

    exit: int
    wall_s: float
    peak_rss_mib: float
    stdout: str
    stderr: str


# Peak RSS as the child's own VmHWM, written at exit. `ru_maxrss` from wait4 is not enough: Linux
# carries the high-water mark of the memory a process had before exec() into it, and the child is
# spawned from this process, which holds a 1,000-node fake cluster (~1 GB) by then.
_HWM = """
import atexit, runpy, sys
def _hwm(path=sys.argv[1]):
    with open("/proc/self/status") as s, open(path, "w") as out:
        out.write(next(line for line in s if line.startswith("VmHWM:")).split()[1])
atexit.register(_hwm)
flag, target, *rest = sys.argv[2:]
if flag == "-m":
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    sys.argv = ["-c", *rest]
    exec(compile(target, "<string>", "exec"), {"__name__": "__main__"})
"""


@functools.cache
def installed_bytecode() -> None:
    """Compile the project's modules to bytecode once, as `pip install` does for a user.

    Some machines run with PYTHONDONTWRITEBYTECODE=1 (this one does): each child would then compile
    every module of ours from source again, ~50 ms of a start that an installed ztbundle never pays.
    """
    import compileall

    for package in ("ztbundle", "collector", "analyzer", "rules"):
        compileall.compile_dir(ROOT / package, quiet=1)


def run_child(cmd: list[str]) -> Run:
    """Run `cmd`, returning its wall time and its own peak RSS (not the max over all children)."""
    installed_bytecode()
    hwm = None
    if os.path.exists("/proc/self/status") and cmd[0] == sys.executable and cmd[1] in ("-m", "-c"):
        hwm = tempfile.NamedTemporaryFile(prefix="ztbundle-hwm-", delete=False)  # noqa: SIM115
        hwm.close()
        cmd = [sys.executable, "-c", _HWM, hwm.name, *cmd[1:]]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen consistent
        out.seek(0)
        err.seek(0)
        peak_kib = float(usage.ru_maxrss)  # Linux reports KiB
        if hwm is not None:
            written = Path(hwm.name).read_text().strip()
            os.unlink(hwm.name)
            if written:
                peak_kib = float(written)
        return Run(
            proc.returncode,
            wall,
            peak_kib / 1024,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def ztbundle(*args: str) -> list[str]:
    return [sys.executable, "-m", "ztbundle", *args]


# --- building bundles with the real collector -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Built:
    ztunnels: int
    workloads: int
    path: Path
    collect_s: float | None  # None: reused from bench/out/


def build(ztunnels: int, workloads: int, *, reuse: bool) -> Built:
    """Collect a synthetic cluster of `ztunnels` nodes sharing `workloads` app pods into bench/out/."""
    from tests.fakecluster import FakeCluster, scenarios

    per_node = max(1, workloads // ztunnels)
    path = CACHE / f"synthetic-{ztunnels}x{per_node * ztunnels}.tar.gz"
    if reuse and path.exists():
        return Built(ztunnels, per_node * ztunnels, path, None)
    CACHE.mkdir(parents=True, exist_ok=True)
    with FakeCluster(scenarios.synthetic(nodes=ztunnels, pods_per_node=per_node)) as cluster:
        run = run_child(
            ztbundle(
                "collect",
                "--kubeconfig",
                str(cluster.kubeconfig),
                "--context",
                cluster.context,
                "--out-file",
                str(path),
                "--quiet",
                "--deadline",
                "3600s",
            )
        )
    if run.exit != 0:
        sys.exit(f"bench: collect of {ztunnels} ztunnels exited {run.exit}: {run.stderr.strip()[-400:]}")
    return Built(ztunnels, per_node * ztunnels, path, run.wall_s)


# --- analyzing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measured:
    built: Built
    json: Run
    html: Run
    findings: int
    report_mib: float


def analyze(built: Built, tmp: Path) -> Measured:
    """Analyze once as JSON (the contract) and once as HTML (the default), each in its own child."""
    out_json, out_html = tmp / "report.json", tmp / "report.html"
    scale = ("--limit-scale", LIMIT_SCALE)
    as_json = run_child(
        ztbundle("analyze", str(built.path), "-o", "json", "--out-file", str(out_json), *scale)
    )
    as_html = run_child(ztbundle("analyze", str(built.path), "--out-file", str(out_html), *scale))
    for run in (as_json, as_html):
        if run.exit not in (0, 1):
            sys.exit(f"bench: analyze {built.path} exited {run.exit}: {run.stderr.strip()[-400:]}")
    findings = len(json.loads(out_json.read_text(encoding="utf-8"))["findings"])
    return Measured(built, as_json, as_html, findings, out_html.stat().st_size / 2**20)


def phases(bundle: Path) -> str:
    """Time read / load / rules in a child process."""
    code = (
        "import sys, time, resource\n"
        "import rules\n"
        "from analyzer import analyze_bundle\n"
        "from analyzer.bundle import open_bundle\n"
        "from analyzer.limits import DEFAULT\n"
        "from analyzer.load import load_bundle\n"
        "t0 = time.perf_counter(); files = open_bundle(sys.argv[1], DEFAULT.scaled(16))\n"
        "t1 = time.perf_counter(); model = load_bundle(files)\n"
        "t2 = time.perf_counter(); result = analyze_bundle(model, rules.all_rules())\n"
        "t3 = time.perf_counter()\n"
        "entries = sum(len(z.xds.workloads) for z in model.ztunnels)\n"
        "unique = len({id(w) for z in model.ztunnels for w in z.xds.workloads.values()})\n"
        "print(f'read {t1 - t0:.2f}s  load {t2 - t1:.2f}s  rules {t3 - t2:.2f}s; '\n"
        "      f'{entries} workload entries, {unique} distinct objects')\n"
    )
    run = run_child([sys.executable, "-c", code, str(bundle)])
    return run.stdout.strip() if run.exit == 0 else f"failed: {run.stderr.strip()[-300:]}"


# --- P4: the small sample, interpreter start included ---------------------------------------------


def p4(repeats: int) -> tuple[float, list[float]]:
    """Median wall time of `ztbundle analyze samples/bookinfo.tar.gz` (HTML, the README's command)."""
    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            run = run_child(ztbundle("analyze", str(SAMPLE), "--out-file", str(Path(tmp) / "r.html")))
            if run.exit != 0:
                sys.exit(f"bench: analyze {SAMPLE} exited {run.exit}: {run.stderr.strip()[-400:]}")
            walls.append(run.wall_s)
    return statistics.median(walls), walls


def import_profile(top: int = 12) -> list[tuple[float, str]]:
    """The top-level packages `ztbundle analyze` imports, by cumulative import time (`-X importtime`)."""
    with tempfile.TemporaryDirectory() as tmp:
        run = run_child(
            [sys.executable, "-X", "importtime", "-m", "ztbundle", "analyze", str(SAMPLE)]
            + ["--out-file", str(Path(tmp) / "r.html")]
        )
    by_package: dict[str, float] = {}
    for line in run.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) == 1:  # depth-1 rows: the cumulative cost of each top-level import
            root = m.group(3).split(".")[0]
            by_package[root] = by_package.get(root, 0.0) + int(m.group(1)) / 1e6
    return sorted(((s, name) for name, s in by_package.items()), reverse=True)[:top]


def cprofile(top: int = 12) -> str:
    """cProfile of the whole `ztbundle analyze` of the sample, top functions by cumulative time."""
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "prof"
        run_child(
            [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "ztbundle", "analyze", str(SAMPLE)]
            + ["--out-file", str(Path(tmp) / "r.html")]
        )
        code = (
            "import pstats, sys\n"
            f"pstats.Stats({str(stats)!r}, stream=sys.stdout).sort_stats('cumulative').print_stats({top})"
        )
        return run_child([sys.executable, "-c", code]).stdout


# --- report --------------------------------------------------------------------------------------


def commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "diff", "--quiet", "HEAD", "--", "analyzer", "rules", "ztbundle"], cwd=ROOT
    )
    return proc.stdout.strip() + ("+dirty" if dirty.returncode else "")


HEADER = (
    "| ztunnels | workloads | bundle MiB | collect s | analyze json s | peak RSS MiB "
    "| analyze html s | peak RSS MiB | HTML MiB | findings |"
)


def row(m: Measured) -> str:
    b = m.built
    collect = f"{b.collect_s:.1f}" if b.collect_s is not None else "(reused)"
    return (
        f"| {b.ztunnels:,} | {b.workloads:,} | {b.path.stat().st_size / 2**20:.1f} | {collect} "
        f"| {m.json.wall_s:.2f} | {m.json.peak_rss_mib:.0f} "
        f"| {m.html.wall_s:.2f} | {m.html.peak_rss_mib:.0f} | {m.report_mib:.1f} | {m.findings} |"
    )


def growth(rows: list[Measured]) -> list[str]:
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        k = b.built.ztunnels / a.built.ztunnels
        out.append(
            f"{a.built.ztunnels} → {b.built.ztunnels} ztunnels (×{k:g}): analyze json time "
            f"×{b.json.wall_s / a.json.wall_s:.1f}, RSS ×{b.json.peak_rss_mib / a.json.peak_rss_mib:.1f}; "
            f"html time ×{b.html.wall_s / a.html.wall_s:.1f}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.analyze", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000], help="ztunnel counts")
    p.add_argument("--workloads", type=int, default=2000, help="app pods, shared by every ztunnel")
    p.add_argument("--quick", action="store_true", help="CI smoke run: 2 and 5 ztunnels × 60 workloads")
    p.add_argument("--fresh", action="store_true", help="re-collect bundles even if bench/out has them")
    p.add_argument("--phases", action="store_true", help="also split read / load / rules per size")
    p.add_argument("--repeats", type=int, default=5, help="P4 repetitions (median reported)")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.workloads, args.repeats = [2, 5], 60, 1
    print(f"commit {commit()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPU(s)", flush=True)
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|", flush=True)
    measured = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            built = build(size, args.workloads, reuse=not args.fresh and not args.quick)
            m = analyze(built, Path(tmp))
            measured.append(m)
            print(row(m), flush=True)
            if args.phases:
                print(f"  {size} ztunnels: {phases(built.path)}", flush=True)
            if args.quick:
                built.path.unlink(missing_ok=True)  # smoke bundles are not worth keeping
    for line in growth(measured):
        print(line)
    median, walls = p4(args.repeats)
    verdict = "within" if median <= P4_TARGET_S else "OVER"
    print(
        f"P4: ztbundle analyze samples/bookinfo.tar.gz (HTML, interpreter start included): median "
        f"{median:.2f} s of {len(walls)} ({', '.join(f'{w:.2f}' for w in walls)}); {verdict} the "
        f"{P4_TARGET_S:.0f} s target"
    )
    if median > P4_TARGET_S and not args.quick:
        print("P4 import time by top-level package (cumulative s):")
        for seconds, name in import_profile():
            print(f"  {seconds:6.3f}  {name}")
        print("P4 cProfile (cumulative):")
        print(cprofile())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
