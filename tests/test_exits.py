"""Every exit code has one meaning and is listed in `--help`."""

from __future__ import annotations

import re

from ztbundle.cli import build_parser
from ztbundle.errors import ClusterError, UsageError
from ztbundle.exits import EXIT_HELP, Exit


def test_each_exit_code_has_its_own_value() -> None:
    values = [e.value for e in Exit]
    assert len(values) == len(set(values))
    assert Exit.NOTHING_COLLECTED != Exit.FINDINGS


def test_help_lists_every_exit_code_once() -> None:
    listed = [int(m) for m in re.findall(r"^  (\d+) ", EXIT_HELP, re.M)]
    assert sorted(listed) == sorted(e.value for e in Exit)
    assert "exit codes:" in build_parser().format_help()


def test_cli_errors_map_to_their_codes() -> None:
    assert ClusterError("x").exit_code is Exit.NOTHING_COLLECTED
    assert UsageError("x").exit_code is Exit.USAGE
