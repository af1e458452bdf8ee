"""`ztbundle ztunnel-config BUNDLE SECTION`: istioctl's ztunnel-config tables, offline, from a bundle."""

from __future__ import annotations

import argparse
import sys

from ztbundle.commands._args import add_bundle, rfc3339
from ztbundle.exits import Exit

SECTIONS = ("workloads", "services", "policies", "certificates", "connections", "all")
ALIASES = {
    "workload": "workloads",
    "service": "services",
    "policy": "policies",
    "certificate": "certificates",
    "certs": "certificates",
    "cert": "certificates",
    "secret": "certificates",
}

EPILOG = """examples:
  # the workload table of the first ready ztunnel, as `istioctl ztunnel-config workloads` prints it
  ztbundle ztunnel-config bundle.tar.gz workloads

  # certificates of the ztunnel on one node (validity judged at the bundle's collection time)
  ztbundle ztunnel-config bundle.tar.gz certificates --node ambient-worker

  # the raw config_dump of one ztunnel, byte for byte
  ztbundle ztunnel-config bundle.tar.gz all --ztunnel ztunnel-x7k2p -o json"""


def _section(value: str) -> str:
    v = ALIASES.get(value, value)
    if v not in SECTIONS:
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {', '.join(SECTIONS)})")
    return v


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ztunnel-config",
        help="show one ztunnel's workloads/services/policies/certificates like istioctl",
        description="print a ztunnel's config from a bundle with istioctl ztunnel-config's tables, offline",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    p.add_argument("section", type=_section, metavar="{" + ",".join(SECTIONS) + "}", help="what to show")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--node", help="the ztunnel on this node")
    who.add_argument("--ztunnel", metavar="POD", help="this ztunnel pod")
    p.add_argument("--namespace", help="only entries in this namespace (workloads, services, policies)")
    p.add_argument("--address", help="only workloads with this IP")
    p.add_argument("--workload-node", help="only workloads on this node")
    p.add_argument("--direction", choices=["inbound", "outbound"], help="connections: only this direction")
    p.add_argument("--raw", action="store_true", help="connections: addresses instead of names")
    p.add_argument("-o", "--output", choices=["short", "json", "yaml"], default="short", help="output format")
    p.add_argument(
        "--now", type=rfc3339, help="judge certificate validity at this time (default: collection time)"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import json

    from analyzer.bundle import parse_json
    from analyzer.text import printable
    from analyzer.views import zconfig
    from analyzer.views.source import open_source

    src = open_source(args.bundle)
    zt, why = src.ztunnel(args.ztunnel, args.node)
    print(f"ztbundle: showing {why}", file=sys.stderr)
    src.member(zt.config_dump_path, f"config_dump for {zt.name}")  # one line when it was not collected
    section = zconfig.Section(args.section)
    if section is zconfig.Section.ALL and args.output == "json":
        # The dump as ztunnel served it; a control character (never raw in valid JSON) shows as
        # the `\uXXXX` escape of itself, so the text stays the same JSON.
        sys.stdout.write(printable(src.files.text(zt.config_dump_path)))
        return Exit.OK
    doc = parse_json(src.path, zt.config_dump_path, src.files.text(zt.config_dump_path))
    dump = zconfig.raw_dump(doc)
    f = zconfig.Filter(args.namespace, args.workload_node, args.address, args.direction, args.raw)
    if args.output == "short":
        sys.stdout.write(zconfig.render(section, dump, args.now or src.index.collected_at, f))
        return Exit.OK
    data = doc if section is zconfig.Section.ALL else zconfig.entries(section, dump, f)
    if args.output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
    else:
        sys.stdout.write(json.dumps(data, indent=4) + "\n")
    return Exit.OK
