"""`ztbundle diff OLD NEW`: what changed between two bundles of the same cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ztbundle.commands._args import add_output
from ztbundle.exits import Exit

EPILOG = """examples:
  # workloads, services, policies and certificates per ztunnel, and findings that appeared or cleared
  ztbundle diff before.tar.gz after.tar.gz

  # the same as JSON records (scope, section, key, change, details)
  ztbundle diff before.tar.gz after.tar.gz -o json

exit status, like diff(1): 0 no changes, 1 changes found, 2 usage, 3 unreadable bundle."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diff",
        help="show what changed between two bundles of the same cluster",
        description="compare two bundles: per ztunnel (paired by node) and the analysis findings",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("old", type=Path, help="the earlier bundle")
    p.add_argument("new", type=Path, help="the later bundle")
    add_output(p, ("text", "json", "yaml"), "text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import dataclasses
    import json

    import rules
    from analyzer import analyze_findings
    from analyzer.views import diff as bundlediff
    from analyzer.views.source import open_source

    old, new = open_source(args.old), open_source(args.new)
    if old.model.manifest.context != new.model.manifest.context:
        print(
            f"ztbundle: note: contexts differ ({old.model.manifest.context} vs {new.model.manifest.context})",
            file=sys.stderr,
        )
    changes = bundlediff.ztunnel_changes(old.model, new.model)
    before, after = (analyze_findings(b.model, rules.all_rules()) for b in (old, new))
    # A rule that ran on one side only (an istioctl bug-report lacks istiod's per-proxy views) has
    # findings that neither appeared nor cleared: they are left out, and the note says so.
    one_sided = sorted({s.code for s in before.skipped} ^ {s.code for s in after.skipped})
    if one_sided:
        print(f"ztbundle: note: {', '.join(one_sided)} ran on one side only; not compared", file=sys.stderr)
    changes += bundlediff.finding_changes(
        (f for f in before.findings if f.code not in one_sided),
        (f for f in after.findings if f.code not in one_sided),
    )
    records = [dataclasses.asdict(c) for c in changes]
    if args.output == "json":
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
    elif args.output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(records, sort_keys=False))
    else:
        sys.stdout.write(bundlediff.text(changes))
    return Exit.DIFFERENCES if changes else Exit.OK
