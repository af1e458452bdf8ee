"""`ztbundle version`: the tool's version and the bundle format versions it writes and reads."""

from __future__ import annotations

import argparse
import sys

from ztbundle.commands._args import add_output
from ztbundle.exits import Exit


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "version",
        help="print the version, and the bundle format versions written and read",
        description="print ztbundle's version and the bundle format versions it writes and reads",
    )
    add_output(p, ("short", "json", "yaml"), "short")
    p.set_defaults(run=run)


def info() -> dict[str, object]:
    """What `version` prints: the tool, the bundle format written (and `--no-dedup`'s), and those read."""
    from ztbundle import __version__, layout

    return {
        "version": __version__,
        "bundle_format": {
            "writes": layout.FORMAT_VERSION,
            "writes_with_no_dedup": layout.RAW_FORMAT_VERSION,
            "reads": list(range(1, layout.FORMAT_VERSION + 1)),
        },
        "python": ".".join(str(n) for n in sys.version_info[:3]),
    }


def run(args: argparse.Namespace) -> Exit:
    import json

    doc = info()
    if args.output == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
    else:
        fmt = doc["bundle_format"]
        assert isinstance(fmt, dict)
        reads = fmt["reads"]
        print(f"{args.prog} {doc['version']}")
        print(
            f"bundle format: writes {fmt['writes']} ({fmt['writes_with_no_dedup']} with --no-dedup), "
            f"reads {reads[0]}–{reads[-1]}"
        )
        print(f"python {doc['python']}")
    return Exit.OK
