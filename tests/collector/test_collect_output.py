"""What `collect` prints from the cluster cannot drive the terminal: no escapes, no rich markup.

An istiod (or any admin port) answers an error with a body of its choosing; `collect` prints that
body in its progress and summary. Control sequences (OSC 52 clipboard write, OSC 8 hyperlinks, CSI)
show as visible escapes, and rich markup such as `[link=…]` prints as the text it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from collector.collect import CollectResult, Failure
from tests.collector.bundle_io import collect
from tests.fakecluster import FakeCluster
from tests.fakecluster.faults import Fault
from tests.fakecluster.scenario import Role
from ztbundle.commands import collect as collect_command
from ztbundle.exits import Exit
from ztbundle.layout import Status

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # asks the terminal to put `rm -rf ~` on the clipboard
LINK = "[link=https://evil.example/]see details[/link]"
CSI = "\x1b[2J"
BODY = f"upstream failed {LINK} {OSC52} {CSI}done"


def _assert_inert(out: str) -> None:
    assert "\x1b" not in out and "\x07" not in out
    assert "\\u001b]52;c;" in out  # shown, not obeyed
    assert LINK in out  # the markup is printed as text, not turned into a hyperlink


def test_an_istiod_error_body_prints_inert_in_the_summary(
    fake_cluster: Callable[..., FakeCluster], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    istiod = cluster.scenario.pods_by_role(Role.ISTIOD)[0].name
    cluster.faults.append(Fault.http_500(pod=istiod, port=15014, path="/debug/syncz", message=BODY))
    run = collect(cluster, tmp_path)
    assert run.code == Exit.INCOMPLETE
    out = capsys.readouterr().out
    assert "upstream failed" in out
    _assert_inert(out)


def _result(tmp_path: Path) -> CollectResult:
    bundle = tmp_path / "b.tar.gz"
    bundle.write_bytes(b"x")
    return CollectResult(
        path=bundle,
        size=1,
        total=2,
        collected=1,
        missing=(Failure("istiod/istiod-0/syncz.json", Status.ERROR, f"HTTP 500: {BODY}"),),
        complete=False,
        interrupted=False,
        deadline_exceeded=False,
        context="kind",
        istio_namespace="istio-system",
    )


def test_the_rich_summary_escapes_markup_and_control_characters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    console = Console(force_terminal=True, width=300, record=True, file=(tmp_path / "tty").open("w"))
    monkeypatch.setattr("rich.console.Console", lambda *a, **k: console)
    result = _result(tmp_path)
    where = str(result.path)
    collect_command._summary(result, rich=True, out=console.file, shown_path=where, prog="ztbundle")
    shown = console.export_text()
    _assert_inert(shown)
    raw = (tmp_path / "tty").read_text()
    assert "\x1b]8;" not in raw  # no OSC 8 hyperlink reached the terminal
    assert "\x1b]52" not in raw


def test_plain_progress_prints_failures_inert(tmp_path: Path) -> None:
    from collector.manifest import Artifact
    from collector.runner import ProgressEvent
    from ztbundle.layout import Input

    item = type("Item", (), {"path": "istiod/istiod-0/syncz.json", "input": Input.ISTIOD_SYNCZ})()
    artifact = Artifact(item, Status.ERROR, f"HTTP 500: {BODY}", False, 0, None, None, None)  # type: ignore[arg-type]
    out = (tmp_path / "log").open("w+")
    collect_command._PlainProgress(out)(ProgressEvent(1, 2, 1, f"x{CSI}", 3.0, artifact))
    out.seek(0)
    _assert_inert(out.read())
