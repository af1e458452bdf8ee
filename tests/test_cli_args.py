"""The shared argument types in `ztbundle.commands._args`: one parser per kind of value, for every command."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime, timedelta, timezone

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
