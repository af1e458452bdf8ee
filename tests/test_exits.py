"""Every exit code has one meaning and is listed in `--help`."""

from __future__ import annotations

import re

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
