"""`ztbundle metrics BUNDLE`: ztunnel's four L4 metrics per workload and per ztunnel."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ztbundle.commands._args import add_bundle, add_output
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
    add_output(p, ("text", "json", "yaml"), "text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import dataclasses
    import json

    from analyzer.errors import BundleError
    from analyzer.views import metrics
    from analyzer.views.source import open_source
    from ztbundle import layout
    from ztbundle.commands import _pick

    src = open_source(args.bundle)
    _pick.check_ztunnel(src, args.ztunnel)
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
    if args.output in ("json", "yaml"):
        doc = _counters_as_ints({"workloads": [dataclasses.asdict(r) for r in m.workloads],
                                 "ztunnels": [dataclasses.asdict(r) for r in m.ztunnels]})  # fmt: skip
        if args.output == "json":
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        else:
            import yaml

            sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
    else:
        sys.stdout.write(metrics.workload_table(m).render() + "\n" + metrics.ztunnel_table(m).render())
    return Exit.OK


def _counters_as_ints(value: Any) -> Any:
    """Counters are whole numbers: Prometheus text carries them as floats (`1234.0`), JSON shows `1234`."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _counters_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_counters_as_ints(v) for v in value]
    return value
