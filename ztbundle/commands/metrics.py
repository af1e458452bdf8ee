"""`ztbundle metrics BUNDLE`: ztunnel's four L4 metrics per workload and per ztunnel."""

from __future__ import annotations

import argparse
import sys

from ztbundle.commands._args import add_bundle
from ztbundle.exits import Exit

EPILOG = """examples:
  # istio_tcp_{sent,received}_bytes_total and istio_tcp_connections_{opened,closed}_total
  ztbundle metrics bundle.tar.gz

  # one ztunnel only, as JSON
  ztbundle metrics bundle.tar.gz --ztunnel ztunnel-x7k2p -o json"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "metrics",
        help="show the L4 metrics (bytes, connections) per workload and per ztunnel",
        description="sum the L4 counters from each ztunnel's collected /metrics",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    p.add_argument("--ztunnel", metavar="POD", help="only this ztunnel")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text", help="output format")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import dataclasses
    import json

    from analyzer.errors import BundleError
    from analyzer.views import metrics
    from analyzer.views.source import open_source
    from ztbundle import layout

    src = open_source(args.bundle)
    zts = [src.ztunnel(args.ztunnel)[0]] if args.ztunnel else sorted(src.index.ztunnels, key=lambda z: z.name)
    texts: dict[str, str] = {}
    missing: list[BundleError] = []
    for z in zts:
        member = layout.ztunnel_metrics(z.name)
        try:
            src.member(member, f"metrics for {z.name}")
        except BundleError as err:
            missing.append(err)
            continue
        texts[z.name] = src.files.text(member)
    if not texts:
        raise missing[0] if missing else BundleError(src.path, None, "no ztunnel in the bundle")
    for absent in missing:  # some ztunnels answered: show what we have and say what is absent
        print(f"ztbundle: skipped: {absent}", file=sys.stderr)
    m = metrics.l4_metrics(texts)
    for zt, count in m.malformed:
        print(f"ztbundle: {layout.ztunnel_metrics(zt)}: skipped {count} malformed line(s)", file=sys.stderr)
    if args.output == "json":
        doc = {"workloads": [dataclasses.asdict(r) for r in m.workloads],
               "ztunnels": [dataclasses.asdict(r) for r in m.ztunnels]}  # fmt: skip
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(metrics.workload_table(m).render() + "\n" + metrics.ztunnel_table(m).render())
    return Exit.OK
