"""Console-script entry: a Ctrl-C at any moment, even while modules load, is exit 130 without a traceback.

Only the standard library is imported before the guard is in place; everything else (the CLI, the
analyzer, the kubernetes client) loads inside it.
"""

import atexit
import os
import sys
import threading
from typing import NoReturn


def main() -> NoReturn:
    """`ztbundle` and `kubectl ztbundle` (the console scripts) and `python -m ztbundle`."""
    _exit(run())


def run() -> int:
    """The CLI under the Ctrl-C guard; returns its exit code."""
    try:
        from ztbundle.cli import main as cli_main
        from ztbundle.cli import prog_name

        return cli_main(prog=prog_name(sys.argv[0]))
    except KeyboardInterrupt:
        sys.stderr.write("ztbundle: interrupted\n")
        return 130


def _exit(code: int) -> NoReturn:
    """Leave as `sys.exit(code)` would, without tearing the interpreter down object by object.

    By now every pool the command started is joined and every file it wrote is closed: what the
    interpreter's teardown adds is freeing each module and object in turn, ~50 ms for the modules
    alone and ~0.1 s after a 100-node collect (bench/README.md). Exit handlers still run (the
    kubernetes client's removes the certificate files it wrote from a kubeconfig) and the standard
    streams are flushed. Where anything else is left (a thread still running, a stream that cannot
    be flushed), the interpreter's own exit handles it, as it always did.
    """
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    running = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if run_handlers is None or running:  # `enumerate` lists only the threads still alive
        sys.exit(code)
    run_handlers()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe or stream: reported by the normal exit
        sys.exit(code)
    os._exit(code)


def kubectl_complete() -> None:
    """`kubectl_complete-ztbundle ARGS…`: what kubectl runs to complete `kubectl ztbundle ARGS…`."""
    try:
        from ztbundle.commands.completion import kubectl_complete as complete

        sys.stdout.write(complete(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
