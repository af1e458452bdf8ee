"""Command-line entry: wires one module per command and is the only place errors become exit codes."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from analyzer.errors import AnalyzerError, NotCollected, RuleError
from analyzer.text import PrintableStream, printable_line
from ztbundle import __version__
from ztbundle.commands._args import did_you_mean
from ztbundle.errors import OutputClosed, ZtbundleError
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
    "convert",
    "version",
    "completion",
)

PLUGIN_PROG = "kubectl ztbundle"


class Parser(argparse.ArgumentParser):
    """argparse with kubectl's manners: a usage error is one line naming where to look for help."""

    def error(self, message: str) -> NoReturn:
        self.exit(int(Exit.USAGE), f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def prog_name(argv0: str) -> str:
    """`kubectl ztbundle` when run as the kubectl plugin (kubectl-ztbundle), else `ztbundle`."""
    return PLUGIN_PROG if Path(argv0).name.startswith("kubectl-ztbundle") else "ztbundle"


def build_parser(prog: str = "ztbundle") -> Parser:
    parser = Parser(
        prog=prog,
        description="collect and analyze Istio ambient (ztunnel) diagnostic bundles",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ztbundle {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ztbundle.commands.{name.replace('-', '_')}").register(sub)
    for p in set(sub.choices.values()):  # global flags are accepted after the command too, as kubectl does
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [n for n in sub.choices if not n.startswith("_")]


def _unknown_command(parser: Parser, argv: Sequence[str]) -> str | None:
    """The one-line error for a mistyped command (with "did you mean"), checked before argparse."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None:
        return None
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if first in sub.choices:
        return None
    names = _command_names(parser)
    return f"unknown command {first!r}{did_you_mean(first, names)}; commands: {', '.join(names)}"


def main(argv: Sequence[str] | None = None, prog: str = "ztbundle") -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog)
    unknown = _unknown_command(parser, args_in)
    if unknown:
        print(f"{prog}: error: {unknown} (see '{prog} --help')", file=sys.stderr)
        return int(Exit.USAGE)
    try:
        args = parser.parse_args(args_in)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    args.prog = prog
    try:
        with _printable_output(args.command):
            return int(args.run(args))
    except BrokenPipeError:
        if not _stdout_closed():
            raise  # some other pipe: not ours to explain away
        _stdout_to_devnull()  # as `| head` expects: stop, quietly
        return int(Exit.OUTPUT_CLOSED)
    except (ZtbundleError, AnalyzerError) as err:
        if args.debug:
            raise
        if isinstance(err, OutputClosed):
            _stdout_to_devnull()
        # Messages quote bundle text (member names, manifest keys): escape it so the error stays one
        # line and cannot carry terminal escapes or bidi overrides.
        print(f"{prog}: error: {printable_line(str(err))}", file=sys.stderr)
        return int(_exit_code(err))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return int(Exit.INTERRUPTED)


def _stdout_closed() -> bool:
    """Whether standard output's reader has gone: poll says so (POLLERR on Linux, POLLHUP elsewhere)."""
    import select

    if not hasattr(select, "poll"):
        return True  # no poll (Windows): a broken pipe that reached here is most likely stdout
    try:
        poller = select.poll()
        poller.register(sys.__stdout__.fileno(), select.POLLOUT)  # type: ignore[union-attr]
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _stdout_to_devnull() -> None:
    """Point the closed stdout at /dev/null, so what is still buffered does not fail again at exit."""
    import os

    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.__stdout__.fileno())  # type: ignore[union-attr]
        os.close(null)


def _exit_code(err: ZtbundleError | AnalyzerError) -> Exit:
    """A CLI error carries its code; of the analyzer's, a malformed rule module is the user's
    command line (`--rules-dir`), a sound bundle lacking what was asked is exit 5, every other one
    an unreadable or unsafe bundle."""
    if isinstance(err, ZtbundleError):
        return err.exit_code
    if isinstance(err, NotCollected):
        return Exit.NOT_COLLECTED
    return Exit.USAGE if isinstance(err, RuleError) else Exit.BAD_INPUT


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
    """Run with the process's argv; the console scripts go through `ztbundle._entry`, which guards imports."""
    sys.exit(main(prog=prog_name(sys.argv[0])))
