"""The shared argument types in `ztbundle.commands._args`: one parser per kind of value, for every command."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ztbundle.cli import main
from ztbundle.commands import _args
from ztbundle.exits import Exit


def test_rfc3339_needs_a_zone_and_accepts_z_in_either_case() -> None:
    assert _args.rfc3339("2026-01-01T12:00:00Z") == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert _args.rfc3339("2026-01-01t12:00:00z") == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert _args.rfc3339("2026-01-01T14:00:00+02:00").utcoffset() == timedelta(hours=2)
    assert _args.rfc3339(" 2026-01-01T12:00:00-05:00 ").tzinfo == timezone(timedelta(hours=-5))
    for bad, why in (("2026-01-01T12:00:00", "needs a zone"), ("yesterday", "not an RFC 3339")):
        with pytest.raises(argparse.ArgumentTypeError, match=why):
            _args.rfc3339(bad)


@pytest.mark.parametrize("bad", ["0.5", "nan", "-inf", "x"])
def test_limit_scale_refuses_below_one_nan_and_junk(bad: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        _args.limit_scale(bad)


def test_limit_scale_accepts_one_and_more() -> None:
    assert _args.limit_scale("1") == 1.0 and _args.limit_scale("2.5") == 2.5
    assert math.isinf(_args.limit_scale("inf"))


def test_positive_int() -> None:
    assert _args.positive_int("3") == 3
    for bad in ("0", "-1", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            _args.positive_int(bad)


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "b.tgz", "--now", "2026-01-01T12:00:00"],
        ["ztunnel-config", "b.tgz", "certificates", "--now", "noon"],
        ["logs", "b.tgz", "--since", "2026-01-01"],
        ["analyze", "b.tgz", "--limit-scale", "nan"],
        ["collect", "--timeout", "0"],
    ],
)
def test_every_command_reports_a_bad_value_as_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == Exit.USAGE
    err = capsys.readouterr().err
    assert f"ztbundle {argv[0]}: error: argument " in err and "Traceback" not in err


# --- issue 15: the parser's manners -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "bookinfo.tar.gz"


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*argv, "--help"]) == Exit.OK
    return capsys.readouterr().out


def test_mistyped_command_suggests_the_right_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["anaylze", "b.tgz"]) == Exit.USAGE
    err = capsys.readouterr().err
    assert "unknown command 'anaylze' (did you mean analyze?)" in err and err.count("\n") == 1


def test_choice_typos_suggest_the_choice(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "b.tgz", "--fail-on", "eror"]) == Exit.USAGE
    assert "did you mean error?" in capsys.readouterr().err
    assert main(["logs", "b.tgz", "--direction", "inbond"]) == Exit.USAGE
    assert "did you mean inbound?" in capsys.readouterr().err


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ztunnel-config"]) == Exit.USAGE  # today: seven usage lines and the error
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ztbundle ztunnel-config: error: ")
    assert "see 'ztbundle ztunnel-config --help'" in err


def test_help_spells_analyze_one_way_and_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help([], capsys) + "".join(_help([c], capsys) for c in ("collect", "analyze"))
    assert "analyse" not in text.lower()
    for command in ("collect", "analyze"):
        assert "examples:" in _help([command], capsys)


def test_version_names_the_bundle_formats(capsys: pytest.CaptureFixture[str]) -> None:
    from ztbundle import __version__, layout

    assert main(["version"]) == Exit.OK
    out = capsys.readouterr().out
    assert out.startswith(f"ztbundle {__version__}\n")
    assert f"writes {layout.FORMAT_VERSION} " in out and f"reads 1–{layout.FORMAT_VERSION}" in out
    assert main(["version", "-o", "json", "--debug"]) == Exit.OK
    assert json.loads(capsys.readouterr().out)["bundle_format"]["writes"] == layout.FORMAT_VERSION


def test_as_a_kubectl_plugin_the_usage_says_kubectl_ztbundle(capsys: pytest.CaptureFixture[str]) -> None:
    from ztbundle.cli import prog_name

    assert prog_name("/home/u/.local/bin/kubectl-ztbundle") == "kubectl ztbundle"
    assert prog_name("/usr/bin/ztbundle") == "ztbundle"
    assert main(["analyze", "--help"], prog="kubectl ztbundle") == Exit.OK
    assert capsys.readouterr().out.startswith("usage: kubectl ztbundle analyze ")
    assert main(["version"], prog="kubectl ztbundle") == Exit.OK
    assert capsys.readouterr().out.startswith("kubectl ztbundle ")


def _bash_complete(script: str, words: list[str]) -> list[str]:
    """Run the generated bash completion function for a command line; return its candidates."""
    line = " ".join(f"'{w}'" for w in words)
    program = f"""
{script}
ztbundle() {{ {sys.executable} -m ztbundle "$@"; }}
COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}
_ztbundle
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completion_completes_commands_flags_formats_and_bundle_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["completion", "bash"]) == Exit.OK
    script = capsys.readouterr().out
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
    assert "analyze" in _bash_complete(script, ["ztbundle", "an"])
    assert set(_bash_complete(script, ["ztbundle", "analyze", "--out"])) == {"--out-file", "--output"}
    assert _bash_complete(script, ["ztbundle", "logs", "b.tgz", "-o", "w"]) == ["wide"]
    assert "svc" in _bash_complete(script, ["ztbundle", "zc", "s"])
    nodes = _bash_complete(script, ["ztbundle", "ztunnel-config", str(SAMPLE), "workloads", "--node", ""])
    assert nodes == ["ambient-worker", "ambient-worker2", "ambient-worker3"]
    zts = _bash_complete(script, ["ztbundle", "logs", str(SAMPLE), "--ztunnel", "ztunnel-"])
    assert len(zts) == 3 and all(z.startswith("ztunnel-") for z in zts)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completion_name_commands_flags_and_bundle_names(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == Exit.OK
    script = capsys.readouterr().out
    for word in ("collect", "analyze", "ztunnel-config", "out-file", "__complete nodes"):
        assert word in script, word
    assert main(["completion", "tcsh"]) == Exit.USAGE


def test_readme_commands_parse_with_this_parser(capsys: pytest.CaptureFixture[str]) -> None:
    """Every `ztbundle …` line of the README's usage block is accepted by the parser (--help matches)."""
    import shlex

    from ztbundle.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Usage", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    commands = [c for c in commands if c.startswith(("ztbundle ", "kubectl ztbundle "))]
    assert len(commands) >= 15
    parser = build_parser()
    for command in commands:
        words = shlex.split(command)
        words = words[2:] if words[0] == "kubectl" else words[1:]
        if words[0] == "ztunnel-config":
            continue  # its two positionals are sorted out when it runs (either order)
        try:
            parser.parse_args(words)
        except SystemExit as exc:
            pytest.fail(f"README: `{command}` does not parse: {capsys.readouterr().err}; exit {exc.code}")


# --- the one count ----------------------------------------------------------------------------------


def test_tally_counts_an_istiod_404_as_expected_only_once_another_replica_served_it() -> None:
    from ztbundle import layout

    t = layout.Tally()
    not_connected = "HTTP 404: Proxy not connected to this Pilot instance"
    t.add("istiod/istiod-a/proxy/zt-1.json", "istiod-proxy-config", "error", not_connected)
    t.add("cluster/pods.json", "pods", "ok", None)
    t.add(layout.TOOL_LOG, "tool-log", "ok", None)  # ours, not collected: not counted
    assert (t.collected, t.missing, t.expected, t.total) == (1, ["istiod/istiod-a/proxy/zt-1.json"], [], 2)
    t.add("istiod/istiod-b/proxy/zt-1.json", "istiod-proxy-config", "ok", None)
    assert t.missing == [] and t.expected == ["istiod/istiod-a/proxy/zt-1.json"]
    t.add("istiod/istiod-a/proxy/zt-1.wads.json", "istiod-proxy-policies", "error", not_connected)
    assert t.missing == ["istiod/istiod-a/proxy/zt-1.wads.json"]  # policies were served by no replica
    t.add("ztunnel/zt-1/config_dump.json", "ztunnel-config", "timeout", "timed out")
    assert t.line() == "2/5 collected, 2 missing, 1 expected non-answer(s) from istiod replicas"


def test_now_takes_a_time_or_an_offset_from_the_collection_time() -> None:
    assert _args.time_or_offset("+30d") == timedelta(days=30)
    assert _args.time_or_offset("-1h30m") == -timedelta(hours=1, minutes=30)
    assert _args.time_or_offset("2026-01-01T12:00:00Z") == datetime(2026, 1, 1, 12, tzinfo=UTC)
    collected = datetime(2026, 1, 1, tzinfo=UTC)
    assert _args.at_offset(timedelta(days=1), collected) == datetime(2026, 1, 2, tzinfo=UTC)
    for bad in ("10m", "+soon", "+"):  # a bare duration is ambiguous here: before or after?
        with pytest.raises(argparse.ArgumentTypeError):
            _args.time_or_offset(bad)


def test_durations_take_days_and_logs_take_either() -> None:
    assert _args.duration("7d") == 7 * 86400 and _args.duration("1d12h") == 36 * 3600
    assert _args.time_or_duration("10m") == timedelta(minutes=10)
    assert _args.time_or_duration("2026-01-01T00:00:00Z") == datetime(2026, 1, 1, tzinfo=UTC)


def test_kubectl_plugin_completion_speaks_cobras_protocol() -> None:
    from ztbundle.commands.completion import kubectl_complete

    assert kubectl_complete(["an"]) == "analyze\n:4\n"
    assert kubectl_complete(["analyze", "b.tgz", "-o", "j"]) == "json\n:4\n"
    assert kubectl_complete(["analyze", "b.tgz", "--out-file", ""]) == ":0\n"  # the shell completes paths
    zts = kubectl_complete(["logs", str(SAMPLE), "--ztunnel", ""]).splitlines()
    assert len(zts) == 4 and all(z.startswith("ztunnel-") for z in zts[:3]) and zts[3] == ":4"
