"""Issue 15's traps on `collect`: flags, typos before any request, one count, where and what next."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.collector.bundle_io import read_bundle
from tests.fakecluster import FakeCluster, scenarios
from ztbundle.cli import main
from ztbundle.exits import Exit

Start = Callable[..., FakeCluster]


def _collect(cluster: FakeCluster, out: Path, *extra: str) -> int:
    return main(["collect", "--kubeconfig", str(cluster.kubeconfig), "--out-file", str(out), *extra])


# --- 1 and 5: one meaning per flag ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["-o", "incident.tar.gz"], "-o incident.tar.gz: use --out-file incident.tar.gz"),
        (["--out", "incident.tar.gz"], "--out incident.tar.gz: use --out-file incident.tar.gz"),
        (["-n", "istio-system"], "-n istio-system: use -i istio-system"),
    ],
)
def test_old_and_foreign_flags_say_what_to_type(
    argv: list[str], hint: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["collect", *argv]) == Exit.USAGE
    err = capsys.readouterr().err
    assert hint in err and err.count("\n") == 1
    assert not (tmp_path / "-").exists()


def test_istio_namespace_is_dash_i_as_in_istioctl(fake_cluster: Start, tmp_path: Path) -> None:
    cluster = fake_cluster()
    out = tmp_path / "b.tar.gz"
    assert _collect(cluster, out, "-i", "istio-system", "--quiet") == Exit.OK
    manifest, _, _ = read_bundle(out)
    assert manifest["options"]["istio_namespace"] == "istio-system"
    assert _collect(cluster, tmp_path / "c.tar.gz", "--istioNamespace", "istio-system", "--quiet") == Exit.OK


def test_out_file_dash_writes_the_bundle_to_stdout(
    fake_cluster: Start, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    cluster = fake_cluster()
    assert _collect(cluster, Path("-"), "--quiet") == Exit.OK
    out = capsysbinary.readouterr()
    assert out.out[:2] == b"\x1f\x8b" and b"next:" not in out.out  # the gzip stream, nothing else
    assert b"complete: " in out.err
    assert list(tmp_path.iterdir()) == []  # today: a file named "-"


# --- 2: typos fail fast ---------------------------------------------------------------------------


def test_unknown_node_is_exit_2_before_anything_is_collected(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    out = tmp_path / "b.tar.gz"
    assert _collect(cluster, out, "--node", "ambient-workr2") == Exit.USAGE
    err = capsys.readouterr().err
    assert "--node ambient-workr2: no such node" in err and "did you mean ambient-worker2?" in err
    assert err.split("valid: ")[1].startswith("ambient-worker2,")
    assert not out.exists() and list(tmp_path.iterdir()) == []  # not even a .partial


# --- 3: one count ----------------------------------------------------------------------------------


def test_progress_collect_and_analyze_count_alike(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from collector.steps import istiod_proxy

    # every replica asked about every ztunnel (the fallback when syncz is unknown), so there are
    # expected "not connected" answers to count
    monkeypatch.setattr(istiod_proxy, "routed_items", lambda plan, routes: istiod_proxy.items(plan))
    cluster = fake_cluster(scenarios.bookinfo(istiod_replicas=2))
    out = tmp_path / "b.tar.gz"
    assert _collect(cluster, out) == Exit.OK
    run = capsys.readouterr()
    head = run.out.splitlines()[0]
    m = re.fullmatch(r"complete: (\d+)/(\d+) collected, 0 missing, (\d+) expected non-answer\(s\) .*", head)
    assert m, head
    collected, total, expected = (int(g) for g in m.groups())
    assert expected > 0 and collected + expected == total  # every 404 of the other replica is expected
    last = [line for line in run.err.splitlines() if " done: " in line][-1]
    assert f"{total}/{total} done: {collected} collected, 0 missing, {expected} expected" in last
    assert "missing istiod/" not in run.out  # expected answers are never listed as missing
    assert main(["analyze", str(out), "-o", "json", "--out-file", os.devnull, "--fail-on", "never"]) == 0
    assert f"{collected}/{total} collected, 0 missing, {expected} expected" in capsys.readouterr().out


# --- 7: where and what next ------------------------------------------------------------------------


def test_collect_says_where_and_what_next(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    out = tmp_path / "b.tar.gz"
    assert _collect(cluster, out) == Exit.OK
    run = capsys.readouterr()
    first = run.err.splitlines()[0]
    assert first.startswith(f"ztbundle: context {cluster.context}, server https://127.0.0.1:")
    assert "Istio namespace istio-system" in run.err
    assert (
        f"context {cluster.context}, server https://" in run.out and "Istio namespace istio-system" in run.out
    )
    assert run.out.rstrip().endswith(f"next: ztbundle analyze {out}")


def test_existing_bundle_is_kept_unless_force(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    out = tmp_path / "b.tar.gz"
    out.write_bytes(b"precious")
    assert _collect(cluster, out, "--quiet") == Exit.USAGE
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"precious"
    assert _collect(cluster, out, "--quiet", "--force") == Exit.OK
    assert out.read_bytes()[:2] == b"\x1f\x8b"


@pytest.mark.parametrize(("long_s", "pauses"), [(30.0, False), (0.0, True)])
def test_guard_pauses_only_when_the_estimate_is_long(
    long_s: float,
    pauses: bool,
    fake_cluster: Start,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from collector import guard
    from ztbundle.commands import collect as command

    monkeypatch.setattr(guard, "NODE_THRESHOLD", 0)  # the 3-node fake cluster counts as large
    monkeypatch.setattr(guard, "LONG_RUN_S", long_s)
    slept: list[float] = []
    monkeypatch.setattr(command.time, "sleep", slept.append)
    assert _collect(fake_cluster(), tmp_path / "b.tar.gz") == Exit.OK
    err = capsys.readouterr().err
    assert "large cluster: 3 nodes" in err  # the estimate is always said
    assert (slept == [guard.PAUSE_S]) is pauses and ("starting in" in err) is pauses


def test_ctrl_c_summary_is_one_line_with_the_abandoned_count(
    fake_cluster: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ztbundle.commands import collect as command

    calls = {"n": 0}

    def progress(self: Any, event: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt

    monkeypatch.setattr(command._PlainProgress, "__call__", progress)
    out = tmp_path / "b.tar.gz"
    assert _collect(fake_cluster(), out, "--concurrency", "4") == Exit.INTERRUPTED
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    assert lines[0].startswith("interrupted: ") and "abandoned" in lines[0] and "not started" in lines[0]
    assert "missing artifact" not in stdout and "  missing " not in stdout  # today: a 20-row table
    assert len(lines) == 3 and lines[1].startswith(f"bundle: {out}")


@pytest.mark.parametrize("module", ["ztbundle.cli", "ztbundle.commands.collect"])
def test_ctrl_c_while_starting_prints_no_traceback(
    module: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C while the CLI's own modules load (the first tens of ms) is exit 130 and one line."""
    import builtins
    import importlib

    from ztbundle import _entry

    for name in [m for m in sys.modules if m == module or m.startswith("ztbundle.commands")]:
        monkeypatch.delitem(sys.modules, name)
    if module == "ztbundle.cli":
        monkeypatch.delattr(importlib.import_module("ztbundle"), "cli", raising=False)
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def interrupted(name: str, *args: Any, **kw: Any) -> Any:
        if name == module:
            raise KeyboardInterrupt
        return real_import(name, *args, **kw)

    def interrupted_module(name: str, *args: Any) -> Any:
        if name == module:
            raise KeyboardInterrupt
        return real_import_module(name, *args)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    monkeypatch.setattr(importlib, "import_module", interrupted_module)
    monkeypatch.setattr(sys, "argv", ["ztbundle", "collect"])
    assert _entry.run() == Exit.INTERRUPTED
    assert capsys.readouterr().err == "ztbundle: interrupted\n"


# --- 6: kubeconfig errors in our words -----------------------------------------------------------


def test_kubeconfig_mistakes_are_one_line_in_our_words(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    k = str(cluster.kubeconfig)
    assert main(["collect", "--kubeconfig", k, "--context", "fake-bookinf"]) == Exit.NOTHING_COLLECTED
    err = capsys.readouterr().err
    assert "no context named 'fake-bookinf' (did you mean fake-bookinfo?); contexts: fake-bookinfo" in err
    assert "Expected object with name" not in err and err.count("\n") == 1
    missing = tmp_path / "nope.yaml"
    assert main(["collect", "--kubeconfig", str(missing)]) == Exit.NOTHING_COLLECTED
    assert (
        capsys.readouterr().err
        == f"ztbundle: error: {missing}: kubeconfig not found (check --kubeconfig or $KUBECONFIG)\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nclusters: [\n")
    assert main(["collect", "--kubeconfig", str(bad)]) == Exit.NOTHING_COLLECTED
    err = capsys.readouterr().err
    assert err.startswith(f"ztbundle: error: {bad}: not valid YAML at line ") and err.count("\n") == 1
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert main(["collect", "--kubeconfig", str(empty)]) == Exit.NOTHING_COLLECTED
    assert "kubeconfig has no contexts" in capsys.readouterr().err  # today: "No configuration found."


def test_insecure_skip_tls_verify_is_one_line_of_ours(
    fake_cluster: Start, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster = fake_cluster()
    doc = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    for c in doc["clusters"]:
        c["cluster"].pop("certificate-authority-data", None)
        c["cluster"]["insecure-skip-tls-verify"] = True
    insecure = tmp_path / "insecure.yaml"
    insecure.write_text(yaml.safe_dump(doc))
    out = tmp_path / "b.tar.gz"
    assert main(["collect", "--kubeconfig", str(insecure), "--out-file", str(out)]) == Exit.OK
    err = capsys.readouterr().err
    assert "InsecureRequestWarning" not in err and "warnings.warn" not in err
    assert err.count("TLS certificate verification is off") == 1
