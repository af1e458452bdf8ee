"""Command-line entry: wires one module per command and is the only place errors become exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from analyzer.errors import AnalyzerError, RuleError
from analyzer.text import printable_line
from ztbundle import __version__
from ztbundle.errors import ZtbundleError
from ztbundle.exits import EXIT_HELP, Exit

# Each module exposes register(subparsers) and run(args) -> Exit. Imported lazily by name so
# `ztbundle analyze` never pays for importing the kubernetes client.
COMMANDS: tuple[str, ...] = (
    "collect",
    "analyze",
    "ztunnel-config",
    "logs",
    "traffic",
    "trace",
    "metrics",
    "xds",
    "diff",
    "extract",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ztbundle",
        description="collect and analyze Istio ambient (ztunnel) diagnostic bundles",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ztbundle {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ztbundle.commands.{name.replace('-', '_')}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    try:
        return int(args.run(args))
    except (ZtbundleError, AnalyzerError) as err:
        if args.debug:
            raise
        # Messages quote bundle text (member names, manifest keys): escape it so the error stays one
        # line and cannot carry terminal escapes or bidi overrides.
        print(f"ztbundle: error: {printable_line(str(err))}", file=sys.stderr)
        return int(_exit_code(err))
    except KeyboardInterrupt:
        print("ztbundle: interrupted", file=sys.stderr)
        return int(Exit.INTERRUPTED)


def _exit_code(err: ZtbundleError | AnalyzerError) -> Exit:
    """A CLI error carries its code; of the analyzer's, a malformed rule module is the user's
    command line (`--rules-dir`), every other one an unreadable or unsafe bundle."""
    if isinstance(err, ZtbundleError):
        return err.exit_code
    return Exit.USAGE if isinstance(err, RuleError) else Exit.BAD_INPUT


def entrypoint() -> None:
    sys.exit(main())
