"""Run the whole test suite N times in a row on a loaded machine, and say how each run went.

    python -m tests.loop --runs 10 --load 2

`--load K` starts K busy-looping processes for the duration (the "stress" of a busy CI runner or a
laptop compiling something); the machine's own load adds to it. Each run prints its exit status,
wall time, the 1-minute load average at start and end, and pytest's summary line. The loop stops at
the first failed run unless `--keep-going`, and exits non-zero if any run failed, so a flaky test
shows up as a red run with its name in the log (`--log DIR` keeps every run's full output).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path


def _burn() -> None:
    while True:
        pass


def _summary(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.loop", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--load", type=int, default=0, help="busy-looping processes to run alongside")
    p.add_argument("--keep-going", action="store_true", help="do not stop at the first failed run")
    p.add_argument("--log", type=Path, help="write each run's full output to DIR/run-N.txt")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args(argv)
    if args.log:
        args.log.mkdir(parents=True, exist_ok=True)
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(args.load)]
    for b in burners:
        b.start()
    failed = 0
    try:
        for n in range(1, args.runs + 1):
            load0 = os.getloadavg()[0]
            t0 = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args],
                capture_output=True,
                text=True,
            )
            wall = time.monotonic() - t0
            out = proc.stdout + proc.stderr
            if args.log:
                (args.log / f"run-{n}.txt").write_text(out)
            verdict = "pass" if proc.returncode == 0 else f"FAIL (exit {proc.returncode})"
            print(
                f"run {n}/{args.runs}: {verdict} in {wall:.0f} s, load {load0:.1f} → "
                f"{os.getloadavg()[0]:.1f}: {_summary(out)}",
                flush=True,
            )
            if proc.returncode != 0:
                failed += 1
                for line in out.splitlines():
                    if line.startswith(("FAILED", "ERROR")):
                        print(f"  {line}", flush=True)
                if not args.keep_going:
                    break
    finally:
        for b in burners:
            b.terminate()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
