"""`ztbundle xds BUNDLE --ztunnel POD`: istiod's view of one ztunnel, optionally diffed against its dump."""

from __future__ import annotations

import argparse
import sys

from ztbundle.commands._args import add_bundle, add_output
from ztbundle.exits import Exit

EPILOG = """examples:
  # what istiod sends ztunnel-x7k2p (per-proxy dump, or ambientz on Istio 1.25+)
  ztbundle xds bundle.tar.gz --ztunnel ztunnel-x7k2p

  # what istiod sends that the ztunnel lacks, has extra, or holds differently; exit 1 if anything differs
  ztbundle xds bundle.tar.gz --ztunnel ztunnel-x7k2p --diff

exit status with --diff, like diff(1): 0 in sync, 1 differences found."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "xds",
        help="show istiod's view of a ztunnel, or its difference from the ztunnel's dump",
        description="show what istiod would send one ztunnel, from the bundle",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    p.add_argument("--ztunnel", metavar="POD", required=True, help="the ztunnel pod")
    p.add_argument("--diff", action="store_true", help="differences against the ztunnel's own dump")
    add_output(p, ("short", "json", "yaml"), "short")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import dataclasses

    from analyzer.errors import NotCollected
    from analyzer.model import BaselineKind
    from analyzer.views import xds
    from analyzer.views.source import open_source
    from ztbundle.commands import _pick

    src = open_source(args.bundle)
    zt, _ = _pick.ztunnel(src, args.ztunnel, parsed=True)  # the drift needs its parsed dump
    baseline = src.model.baseline_for(zt)
    if baseline.kind is BaselineKind.NONE or baseline.xds is None:
        raise NotCollected(src.path, None, f"no istiod view of {zt.name} was collected: {baseline.note}")
    print(f"ztbundle: {xds.describe(baseline)}", file=sys.stderr)
    if args.diff:
        if not zt.available:
            raise NotCollected(
                src.path, zt.config_dump_path, f"no config_dump for {zt.name}: {zt.unavailable_reason}"
            )
        found = xds.changes(src.model, zt)
        if args.output == "short":
            sys.stdout.write(xds.changes_text(found, zt.name))
        else:
            _dump([dataclasses.asdict(c) for c in found], args.output)
        return Exit.DIFFERENCES if found else Exit.OK
    if args.output != "short":
        doc = {"source": xds.describe(baseline), "kind": baseline.kind.value, **xds.state_json(baseline.xds)}
        _dump(doc, args.output)
    else:
        sys.stdout.write("\n".join(t.render() for t in xds.tables(baseline.xds)))
    return Exit.OK


def _dump(doc: object, fmt: str) -> None:
    import json

    if fmt == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(json.loads(json.dumps(doc)), sort_keys=False))
    else:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
