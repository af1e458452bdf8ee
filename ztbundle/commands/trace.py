"""`ztbundle trace BUNDLE --from POD --to TARGET`: one connection's path, hop by hop, offline."""

from __future__ import annotations

import argparse
import sys

from ztbundle.commands._args import add_bundle, add_limit_scale, rfc3339
from ztbundle.errors import UsageError
from ztbundle.exits import Exit

EPILOG = """examples:
  # why can't productpage reach reviews? hop by hop, with the finding and Fix of a broken hop
  ztbundle trace bundle.tar.gz --from default/productpage-v1-7d4b9 --to default/reviews:9080

  # a target may be a service hostname, a pod, or an IP[:port]; a unique pod name is enough
  ztbundle trace bundle.tar.gz --from curl-5b8f --to reviews.default.svc.cluster.local
  ztbundle trace bundle.tar.gz --from curl-5b8f --to 10.96.12.7:9080 -o json

hops: 1 source enrolled, 2 source identity, 3 destination resolved, 4 waypoint, 5 policy,
6 destination side, 7 observed traffic; each is ok, broken, degraded or unknown (not collected).
The last line names the first broken hop and the incident it belongs to.
Gather just what one path needs with `ztbundle collect --for POD --to TARGET`."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "trace",
        help="the path of one connection, hop by hop, with the findings that explain it",
        description="trace a connection from a pod to a service, pod or IP through the bundle",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    p.add_argument(
        "--from", dest="source", required=True, metavar="POD", help="namespace/name or a unique name"
    )
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="TARGET",
        help="a service (namespace/name[:port] or hostname), a pod, or IP[:port]",
    )
    p.add_argument("-o", "--output", choices=["text", "json"], default="text", help="output format")
    p.add_argument("-v", "--verbose", action="store_true", help="show every check, not only those not ok")
    p.add_argument(
        "--now",
        type=rfc3339,
        help="analysis time for certificate validity and rules (default: collection time)",
    )
    add_limit_scale(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import dataclasses
    import json

    import rules
    from analyzer import analyze_findings
    from analyzer.bundle import open_bundle
    from analyzer.limits import DEFAULT
    from analyzer.load import load_bundle
    from analyzer.trace import NotFound, trace
    from analyzer.trace.render import to_json, to_text
    from ztbundle import layout

    files = open_bundle(args.bundle, DEFAULT.scaled(args.limit_scale))
    model = load_bundle(files)
    if args.now is not None:
        model = dataclasses.replace(model, now_override=args.now)
    result = analyze_findings(model, rules.combined(), bundle_path=str(args.bundle))
    metrics = {
        z.name: files.text(layout.ztunnel_metrics(z.name))
        for z in model.ztunnels
        if files.has(layout.ztunnel_metrics(z.name))
    }
    try:
        t = trace(model, result, args.source, args.target, metrics)
    except NotFound as err:
        raise UsageError(f"{args.bundle}: {err}") from None
    if args.output == "json":
        sys.stdout.write(json.dumps(to_json(t), indent=2) + "\n")
    else:
        sys.stdout.write(to_text(t, verbose=args.verbose))
    return Exit.OK
