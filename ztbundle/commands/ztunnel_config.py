"""`ztbundle ztunnel-config BUNDLE SECTION`: istioctl's ztunnel-config tables, offline, from a bundle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ztbundle.commands._args import BUNDLE_HELP, add_output, at_offset, choice, completes, time_or_offset
from ztbundle.errors import UsageError
from ztbundle.exits import Exit

if TYPE_CHECKING:
    from analyzer.views.ztunnel_config import RawDump

SECTIONS = ("workloads", "services", "policies", "certificates", "connections", "all")
# istioctl ztunnel-config's subcommand names and aliases, plus the singular of each.
ALIASES = {
    "workload": "workloads",
    "w": "workloads",
    "service": "services",
    "svc": "services",
    "s": "services",
    "policy": "policies",
    "pol": "policies",
    "p": "policies",
    "certificate": "certificates",
    "certs": "certificates",
    "cert": "certificates",
    "secret": "certificates",
    "secrets": "certificates",
    "connection": "connections",
    "cons": "connections",
    "conn": "connections",
}

EPILOG = """examples:
  # the workload table of the first ready ztunnel, as `istioctl ztunnel-config workloads` prints it
  ztbundle ztunnel-config bundle.tar.gz workloads

  # istioctl's order works too: the section first, then the bundle
  ztbundle ztunnel-config workloads bundle.tar.gz -n bookinfo

  # certificates of the ztunnel on one node (validity judged at the bundle's collection time)
  ztbundle ztunnel-config bundle.tar.gz certificates --node ambient-worker

  # the raw config_dump of one ztunnel, byte for byte
  ztbundle ztunnel-config bundle.tar.gz all --ztunnel ztunnel-x7k2p -o json

  # one pod, on the ztunnel of its node (istioctl ztunnel-config workload <pod>.<namespace>)
  ztbundle ztunnel-config bundle.tar.gz workloads --workload productpage-v1-6c8f4d7b9-x2k4p.bookinfo"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ztunnel-config",
        aliases=["zc"],
        help="show one ztunnel's workloads/services/policies/certificates like istioctl",
        description="print a ztunnel's config from a bundle with istioctl ztunnel-config's tables, offline",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Two positionals in either order (BUNDLE SECTION, or istioctl's SECTION BUNDLE): sorted out in run().
    p.add_argument("bundle", metavar="BUNDLE", help=BUNDLE_HELP)
    p.add_argument(
        "section",
        type=completes((*SECTIONS, *ALIASES)),
        metavar="{" + ",".join(SECTIONS) + "}",
        help="what to show (istioctl's aliases work)",
    )
    who = p.add_mutually_exclusive_group()
    who.add_argument("--node", help="the ztunnel on this node")
    who.add_argument("--ztunnel", metavar="POD", help="this ztunnel pod")
    p.add_argument(
        "-n",
        "--namespace",
        "--workload-namespace",  # istioctl's names for the same filter
        "--service-namespace",
        "--policy-namespace",
        dest="namespace",
        help="only entries in this namespace (workloads, services, policies, connections)",
    )
    p.add_argument("--address", help="only workloads with this IP")
    p.add_argument("--workload-node", help="only workloads on this node")
    p.add_argument(
        "--workload",
        metavar="POD[.NAMESPACE]",
        help="only this pod (workloads, connections); without --node/--ztunnel, its node's ztunnel",
    )
    p.add_argument("--with-headers", action="store_true", help="all: a header line before each table")
    p.add_argument(
        "--direction",
        type=choice(("inbound", "outbound")),
        metavar="{inbound,outbound}",
        help="connections: only this direction",
    )
    p.add_argument("--raw", action="store_true", help="connections: addresses instead of names")
    add_output(p, ("short", "json", "yaml"), "short")
    p.add_argument(
        "--now",
        type=time_or_offset,
        metavar="TIME",
        help="judge certificate validity at this time: RFC 3339, or +30d/-2h from the collection time "
        "(default: collection time)",
    )
    p.set_defaults(run=run)


def _order(first: str, second: str) -> tuple[Path, str]:
    """(bundle, section) from the two positionals in either order; a bad section says what is valid."""
    parse = choice(SECTIONS, ALIASES)
    for bundle, section in ((first, second), (second, first)):
        if ALIASES.get(section, section) in SECTIONS and not Path(section).exists():
            return Path(bundle), parse(section)
    try:
        parse(second)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"section: {exc}") from None
    raise AssertionError("unreachable")  # parse(second) succeeds only when the loop returned


def run(args: argparse.Namespace) -> Exit:
    import json

    from analyzer.bundle import parse_json
    from analyzer.text import printable
    from analyzer.views import ztunnel_config as zconfig
    from analyzer.views.source import open_source
    from ztbundle.commands import _pick

    bundle, section_name = _order(args.bundle, args.section)
    src = open_source(bundle)
    f = zconfig.Filter(
        args.namespace, args.workload_node, args.address, args.direction, args.raw, args.workload
    )
    node = args.node
    if args.workload and not (args.node or args.ztunnel):  # as istioctl: the ztunnel serving that pod
        name, namespace = f.target()
        pod = next((p for p in src.index.pods if p.name == name and namespace in (None, p.namespace)), None)
        node = pod.node if pod else None
    zt, why = _pick.ztunnel(src, args.ztunnel, node)
    print(f"ztbundle: showing {why}", file=sys.stderr)
    src.member(zt.config_dump_path, f"config_dump for {zt.name}")  # one line when it was not collected
    section = zconfig.Section(section_name)
    if section is zconfig.Section.ALL and args.output == "json":
        # The dump as ztunnel served it; a control character (never raw in valid JSON) shows as
        # the `\uXXXX` escape of itself, so the text stays the same JSON.
        sys.stdout.write(printable(src.files.text(zt.config_dump_path)))
        return Exit.OK
    doc = parse_json(src.path, zt.config_dump_path, src.files.text(zt.config_dump_path))
    dump = zconfig.raw_dump(doc)
    if args.namespace:
        _pick.check_namespace(src, args.namespace, _dump_namespaces(dump))
    if args.output == "short":
        at = at_offset(args.now, src.index.collected_at) or src.index.collected_at
        sys.stdout.write(zconfig.render(section, dump, at, f, headers=args.with_headers))
        return Exit.OK
    data = doc if section is zconfig.Section.ALL else zconfig.entries(section, dump, f)
    if args.output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
    else:
        sys.stdout.write(json.dumps(data, indent=4) + "\n")
    return Exit.OK


def _dump_namespaces(dump: RawDump) -> set[str]:
    """Namespaces the dump's entries name (a filter may target one the cluster list lacks)."""
    entries = (*dump.workloads, *dump.services, *dump.policies)
    return {e["namespace"] for e in entries if isinstance(e.get("namespace"), str)}
