"""Console-script entry: a Ctrl-C at any moment, even while modules load, is exit 130 without a traceback.

Only the standard library is imported before the guard is in place; everything else (the CLI, the
analyzer, the kubernetes client) loads inside it.
"""

import sys


def main() -> None:
    try:
        from ztbundle.cli import main as cli_main
        from ztbundle.cli import prog_name

        code = cli_main(prog=prog_name(sys.argv[0]))
    except KeyboardInterrupt:
        sys.stderr.write("ztbundle: interrupted\n")
        code = 130
    sys.exit(code)


def kubectl_complete() -> None:
    """`kubectl_complete-ztbundle ARGS…`: what kubectl runs to complete `kubectl ztbundle ARGS…`."""
    try:
        from ztbundle.commands.completion import kubectl_complete as complete

        sys.stdout.write(complete(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
