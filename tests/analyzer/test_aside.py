"""`analyzer.aside.Aside`: work in a forked child, with the serial run's outcome whatever happens.

Each case runs in its own interpreter: a fork is only taken in a single-threaded process, and the
test process may hold a fake cluster's server threads.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analyzer.bundle import open_bundle
from analyzer.load import load_bundle, load_index
from analyzer.sections.traffic import observed_traffic

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _run(body: str) -> str:
    code = "import os, sys\nfrom analyzer.aside import Aside\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_value_is_computed_in_a_child() -> None:
    out = _run("""
        with Aside(lambda: (os.getpid(), {"k": [1, 2]})) as later:
            pid, value = later.result()
        print(pid != os.getpid(), value)
    """)
    assert out == "True {'k': [1, 2]}"


def test_a_child_that_fails_is_replaced_by_the_serial_run() -> None:
    """The child dies (here: killed by a signal) and its value is computed again in the parent."""
    out = _run("""
        parent = os.getpid()
        def work():
            if os.getpid() != parent:
                os.kill(os.getpid(), 9)
            return "from the parent"
        with Aside(work) as later:
            print(later.result())
    """)
    assert out == "from the parent"


def test_an_exception_is_the_serial_runs_exception() -> None:
    out = _run("""
        def work():
            raise ValueError("bad bundle")
        try:
            with Aside(work) as later:
                later.result()
        except ValueError as exc:
            print("raised:", exc)
    """)
    assert out == "raised: bad bundle"


def test_a_child_not_waited_for_is_reaped() -> None:
    out = _run("""
        import time
        try:
            with Aside(lambda: time.sleep(30)):
                raise KeyError("the parent failed first")
        except KeyError:
            pass
        try:
            os.waitpid(-1, os.WNOHANG)
            print("a child is left")
        except ChildProcessError:
            print("no child left")
    """)
    assert out == "no child left"


def test_with_another_thread_running_nothing_is_forked() -> None:
    out = _run("""
        import threading, time
        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
        print(Aside(os.getpid).result() == os.getpid())
    """)
    assert out == "True"


@pytest.mark.parametrize("sample", ["bookinfo.tar.gz", "broken.tar.gz", "istioctl-bug-report.tar.gz"])
def test_the_logs_read_from_the_index_are_the_logs_read_from_the_model(sample: str) -> None:
    """analyze counts the access logs from `load_index` beside the rules: it must see what the full
    model sees (a traffic section that starts to need the dumps has to move out of the child)."""
    files = open_bundle(SAMPLES / sample)
    assert observed_traffic(load_index(files)) == observed_traffic(load_bundle(files))
