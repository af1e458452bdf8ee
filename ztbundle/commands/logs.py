"""`ztbundle logs BUNDLE`: ztunnel access-log records from a bundle, filtered, as a table or JSON."""

from __future__ import annotations

import argparse
import sys

from ztbundle.commands._args import add_bundle, rfc3339
from ztbundle.exits import Exit

EPILOG = """examples:
  # failed connections to the reviews service in the last minutes of the capture
  ztbundle logs bundle.tar.gz --service reviews --errors --since 2025-06-01T11:55:00Z

  # every inbound record of one workload on one ztunnel, as JSON
  ztbundle logs bundle.tar.gz --ztunnel ztunnel-x7k2p --direction inbound --workload productpage-v1 -o json"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "logs",
        help="show ztunnel access-log records (src/dst, identities, bytes, errors)",
        description="parse the ztunnel access logs in a bundle (plain and JSON formats) into records",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    p.add_argument("--ztunnel", metavar="POD", help="only this ztunnel's logs")
    p.add_argument("--direction", choices=["inbound", "outbound"], help="only this direction")
    p.add_argument(
        "--workload", metavar="NAME", help="source or destination pod (or its prefix, e.g. app-v1)"
    )
    p.add_argument("--service", metavar="HOST", help="destination service hostname or short name")
    p.add_argument("--errors", action="store_true", help="only failed connections")
    p.add_argument("--since", type=rfc3339, help="only records at or after this RFC 3339 time")
    p.add_argument("--until", type=rfc3339, help="only records at or before this RFC 3339 time")
    p.add_argument("-o", "--output", choices=["text", "json"], default="text", help="output format")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import json

    from analyzer.errors import BundleError
    from analyzer.model import Input
    from analyzer.views import logs as access
    from analyzer.views.source import open_source

    src = open_source(args.bundle)
    if args.ztunnel and src.model.ztunnel_named(args.ztunnel) is None:
        raise BundleError(src.path, None, f"no ztunnel named {args.ztunnel!r} in the bundle")
    q = access.Query(
        args.ztunnel, args.direction, args.workload, args.service, args.errors, args.since, args.until
    )
    log = access.access_log(src.model, q)
    if log.files == 0:
        why = src.model.availability(Input.ZTUNNEL_LOGS).reason or "no ztunnel log in the bundle"
        raise BundleError(src.path, None, f"no ztunnel logs were collected: {why}")
    for note in access.malformed_notes(log.malformed):
        print(f"ztbundle: {note}", file=sys.stderr)
    if args.output == "json":
        sys.stdout.write(json.dumps([access.record_json(e) for e in log.entries], indent=2) + "\n")
    else:
        sys.stdout.write(access.table(log).render())
    print(f"ztbundle: {len(log.entries)} record(s) from {log.files} ztunnel log file(s)", file=sys.stderr)
    return Exit.OK
