"""Every exit code has one meaning and is listed in `--help`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from tests.fakecluster import FakeCluster, scenarios
from ztbundle.cli import build_parser
from ztbundle.errors import ClusterError, UsageError
from ztbundle.exits import EXIT_HELP, Exit


def test_nothing_collected_is_not_an_alias_of_findings() -> None:
    """A collect that wrote no bundle must not exit like an analyze that found problems."""
    assert Exit.NOTHING_COLLECTED.name == "NOTHING_COLLECTED"  # an alias would report its twin's name
    assert Exit.NOTHING_COLLECTED not in (Exit.OK, Exit.FINDINGS, Exit.USAGE, Exit.BAD_INPUT, Exit.INCOMPLETE)


def test_help_lists_every_exit_code_once() -> None:
    listed = [int(m) for m in re.findall(r"^  (\d+) ", EXIT_HELP, re.M)]
    assert sorted(listed) == sorted(e.value for e in Exit)
    assert "exit codes:" in build_parser().format_help()


def test_cli_errors_map_to_their_codes() -> None:
    assert ClusterError("x").exit_code is Exit.NOTHING_COLLECTED
    assert UsageError("x").exit_code is Exit.USAGE


# --- leaving the process -------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "broken.tar.gz"


# This checkout's ztbundle, with buffered output as a user has it, so a missing flush would show (some
# machines set PYTHONUNBUFFERED).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {"PYTHONPATH": str(ROOT)}


def _entry(tmp_path: Path, argv: list[str], before: str = "") -> subprocess.CompletedProcess[bytes]:
    """`python -m ztbundle ARGV` (through `ztbundle._entry.main`), after running `before` in it."""
    script = "\n".join(
        [
            "import sys",
            before,
            "from ztbundle import _entry",
            f"sys.argv = ['ztbundle', *{argv!r}]",
            "_entry.main()",
        ]
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=_ENV, capture_output=True, timeout=120
    )


def test_the_exit_keeps_the_commands_code_and_its_piped_report(tmp_path: Path) -> None:
    """The exit skips the interpreter's teardown; what the command printed still arrives whole."""
    done = _entry(tmp_path, ["analyze", str(SAMPLE), "-o", "json", "--out-file", "-"])
    assert done.returncode == Exit.FINDINGS
    assert json.loads(done.stdout)["findings"]


def test_exit_handlers_run_and_what_was_printed_arrives(tmp_path: Path) -> None:
    handler = "import atexit, pathlib\natexit.register(lambda: pathlib.Path('handler').write_text('ran'))"
    done = _entry(tmp_path, ["--version"], handler)  # argparse prints the version and never flushes
    assert done.returncode == Exit.OK and done.stdout.startswith(b"ztbundle ")
    assert (tmp_path / "handler").read_text() == "ran"


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    thread = (
        "import pathlib, threading, time\n"
        "def late():\n    time.sleep(0.3)\n    pathlib.Path('thread').write_text('done')\n"
        "threading.Thread(target=late).start()"
    )
    assert _entry(tmp_path, ["--version"], thread).returncode == Exit.OK
    assert (tmp_path / "thread").read_text() == "done"


# --- a reader that goes away ---------------------------------------------------------------------


def _with_stdout_unread(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    """`python -m ztbundle ARGV` writing into a pipe nobody reads (`| head` once it has had enough)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write now fails with EPIPE, at once and on any machine
    try:
        return subprocess.run(
            [sys.executable, "-m", "ztbundle", *argv],
            cwd=tmp_path,
            env=_ENV,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write_end)


def test_a_report_whose_reader_went_away_stops_quietly_with_141(tmp_path: Path) -> None:
    done = _with_stdout_unread(["analyze", str(SAMPLE), "-o", "json", "--out-file", "-"], tmp_path)
    assert done.returncode == Exit.OUTPUT_CLOSED
    assert done.stderr == b""  # no traceback, nothing to say: the reader has what it wanted


def test_a_streamed_bundle_whose_reader_went_away_is_kept_and_said_where(
    fake_cluster: Callable[..., FakeCluster], tmp_path: Path
) -> None:
    cluster = fake_cluster(scenarios.bookinfo())
    argv = ["collect", "--kubeconfig", str(cluster.kubeconfig), "--out-file", "-", "--quiet", "--yes"]
    done = _with_stdout_unread(argv, tmp_path)
    assert done.returncode == Exit.OUTPUT_CLOSED
    line = done.stderr.decode()
    assert line.count("\n") == 1 and "stdout closed by its reader" in line, line
    kept = Path(line.rsplit(" ", 1)[1].strip())
    try:
        with tarfile.open(kept) as tar:
            assert "manifest.json" in tar.getnames()
    finally:
        shutil.rmtree(kept.parent)
