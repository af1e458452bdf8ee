"""Command-line entry: wires one module per command and is the only place errors become exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence

from analyzer.errors import AnalyzerError
from analyzer.text import PrintableStream, printable_line
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
        with _printable_output(args.command):
            return int(args.run(args))
    except (ZtbundleError, AnalyzerError) as err:
        if args.debug:
            raise
        # Messages quote bundle text (member names, manifest keys): escape it so the error stays one
        # line and cannot carry terminal escapes or bidi overrides.
        print(f"ztbundle: error: {printable_line(str(err))}", file=sys.stderr)
        return int(err.exit_code if isinstance(err, ZtbundleError) else Exit.BAD_INPUT)
    except KeyboardInterrupt:
        print("ztbundle: interrupted", file=sys.stderr)
        return int(Exit.INTERRUPTED)


@contextlib.contextmanager
def _printable_output(command: str) -> Iterator[None]:
    """Every byte a bundle command prints goes through `analyzer.text.printable`: one escaping path.

    `collect` is left out: it prints what it talks to the cluster about, not bundle data, and
    draws its progress with rich, whose own escapes must reach the terminal.
    """
    if command == "collect":
        yield
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = PrintableStream(out), PrintableStream(err)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def entrypoint() -> None:
    sys.exit(main())
