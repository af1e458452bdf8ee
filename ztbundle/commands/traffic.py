"""`ztbundle traffic BUNDLE`: which workloads ztunnel carried traffic for, and how services spread it."""

from __future__ import annotations

import argparse
import sys

from ztbundle.commands._args import add_bundle, add_output
from ztbundle.exits import Exit

EPILOG = """examples:
  # per workload: inbound/outbound seen through ztunnel (hbone, plaintext or none);
  # per multi-endpoint service: connections per endpoint and whether the spread is even
  ztbundle traffic bundle.tar.gz

  # only the reviews service's spread, as JSON
  ztbundle traffic bundle.tar.gz --service reviews -o json

The spread is judged with Pearson's chi-square test against a uniform split (skewed when
p < 0.001), and only once every endpoint expects at least 5 connections."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "traffic",
        help="per workload: HBONE traffic seen; per service: spread over endpoints",
        description="summarize the traffic ztunnel's access logs show, per workload and per service",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    p.add_argument("--service", metavar="HOST", help="only this service (hostname or short name)")
    add_output(p, ("text", "json", "yaml"), "text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import dataclasses
    import json

    from analyzer.errors import NotCollected
    from analyzer.model import Component, Input
    from analyzer.views import traffic
    from analyzer.views.source import open_source

    src = open_source(args.bundle)
    if not src.model.logs_of(Component.ZTUNNEL):
        why = src.model.availability(Input.ZTUNNEL_LOGS).reason or "no ztunnel log in the bundle"
        raise NotCollected(src.path, None, f"no ztunnel logs were collected: {why}")
    t = traffic.traffic(src.model, args.service)
    if args.output == "json":
        sys.stdout.write(json.dumps(dataclasses.asdict(t), indent=2) + "\n")
        return Exit.OK
    if args.output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(json.loads(json.dumps(dataclasses.asdict(t))), sort_keys=False))
        return Exit.OK
    if not args.service:
        sys.stdout.write(traffic.workload_table(t).render() + "\n")
    sys.stdout.write(traffic.spread_table(t).render())
    skewed = [s.service for s in t.services if s.verdict is traffic.Verdict.SKEWED]
    note = f"; uneven spread: {', '.join(skewed)}" if skewed else ""
    print(f"ztbundle: {t.records} access record(s){note}", file=sys.stderr)
    return Exit.OK
