"""No terminal escape from a bundle reaches the terminal, whichever command prints it.

`tests.hostile.escapes` writes a real bundle with OSC 52, OSC 8, CSI, C1 and BEL sequences in
every string a command could show; each bundle command runs on it (and `diff` against the
clean sample, both ways) and its stdout and stderr must hold none of those characters.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from analyzer.text import PrintableStream, printable
from tests.hostile import escapes, resign
from tests.security.commands import run_all
from ztbundle import cli
from ztbundle.exits import Exit


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return escapes.write(tmp_path_factory.mktemp("escapes") / "escapes.tar.gz")


def test_no_escape_sequence_reaches_stdout_or_stderr(hostile: Path, tmp_path: Path) -> None:
    zt = resign.ztunnels(resign.members())[0]
    runs = run_all(hostile, zt, tmp_path, other=resign.SAMPLE)
    # every command that prints bundle data; collect talks to a cluster, completion and version read no
    # bundle, and convert reads only istioctl archives (it refuses a ztbundle bundle in one line)
    assert {r.argv[0] for r in runs} == set(cli.COMMANDS) - {"collect", "completion", "version", "convert"}
    for run in runs:
        assert run.code in (Exit.OK, Exit.FINDINGS), str(run)
        for stream in (run.out, run.err):
            leak = escapes.UNSAFE.search(stream)
            assert leak is None, f"{run}\n{stream[max(0, leak.start() - 80) : leak.start() + 40]!r}"
    shown = "".join(r.out + r.err for r in runs)
    assert "\\u001b]52;c;cHduZWQ=" in shown  # the payload was printed, visibly, not dropped


def test_the_raw_dump_stays_the_same_json(hostile: Path, tmp_path: Path) -> None:
    import json

    from tests.security.commands import run

    zt = resign.ztunnels(resign.members())[0]
    raw = run(["ztunnel-config", "--ztunnel", zt, "-o", "json", str(hostile), "all"])
    assert raw.code == Exit.OK and escapes.UNSAFE.search(raw.out) is None
    with __import__("tarfile").open(hostile) as tar:
        member = tar.extractfile(f"ztunnel/{zt}/config_dump.json")
        assert member is not None
        assert json.loads(raw.out) == json.loads(member.read())


def test_the_stream_escapes_every_write_and_delegates_the_rest() -> None:
    inner = io.StringIO()
    stream = PrintableStream(inner)
    print("a\x1b[2Jb", "\x9b31m\ud800", file=stream)  # type: ignore[arg-type]
    stream.writelines(["\x07\n"])
    stream.flush()
    assert inner.getvalue() == "a\\u001b[2Jb \\u009b31m\\ud800\n\\u0007\n"
    assert stream.isatty() is False and printable("x\ty\n") == "x\ty\n"
