"""`ztbundle analyze BUNDLE`: analyse a bundle offline and write a report."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.text import printable_line
from ztbundle.commands._args import add_bundle, add_limit_scale, rfc3339
from ztbundle.errors import UsageError
from ztbundle.exits import Exit
from ztbundle.outfile import write_file

if TYPE_CHECKING:
    from analyzer.bundle import BundleFiles
    from analyzer.model import Bundle
    from analyzer.views.metrics import L4Metrics

_FAIL_ON = ("error", "warning", "info", "never")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyse a bundle offline and write a report",
        description="analyse a bundle written by `ztbundle collect`, offline",
    )
    add_bundle(p)
    p.add_argument(
        "-o",
        "--out",
        help="report path, or - for stdout (default: <bundle>.report.<format>; text prints to stdout)",
    )
    p.add_argument("--format", choices=["html", "json", "text"], default="html", help="report format")
    p.add_argument(
        "--fail-on",
        choices=_FAIL_ON,
        default="error",
        help="exit 1 when a finding is at least this severe (default: error)",
    )
    p.add_argument("--rules-dir", type=Path, help="also run rule modules from this directory")
    p.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="do not run this rule (code or name); repeatable",
    )
    p.add_argument(
        "--now", type=rfc3339, help="analysis time for time-based rules (default: collection time)"
    )
    add_limit_scale(p)
    p.set_defaults(run=run)


def _known_rules(disabled: list[str], extra: Path | None) -> None:
    import rules

    known = {r.code for r in rules.all_rules()} | {r.name for r in rules.all_rules()}
    if extra:
        known |= {x for r in rules.load_dir(extra) for x in (r.code, r.name)}
    for d in disabled:
        if d not in known and d.upper() not in known:
            raise UsageError(f"--disable {d}: no such rule")


def _summary(result: object, out: str | None) -> str:
    from analyzer import AnalysisResult

    assert isinstance(result, AnalysisResult)
    lines = [result.summary_line()]
    top = result.findings[:5]
    lines += [printable_line(f"  {f.severity.value:7} {f.code} {f.subject}: {f.message}") for f in top]
    if len(result.findings) > 5:
        lines.append(f"  … and {len(result.findings) - 5} more")
    n = len(result.collection_errors)
    if n and not result.manifest.complete:  # an incomplete bundle limits what the findings can say
        lines.append(f"bundle incomplete: {n} artifact(s) not collected (listed in the report)")
    elif n:  # the collector judged every failure expected (istiod replicas a ztunnel is not on)
        expected = f"{n} expected non-answer(s), e.g. from istiod replicas"
        lines.append(f"bundle complete; {expected} (in the report)")
    if out:
        lines.append(f"report: {out}")
    return "\n".join(lines)


def _l4_metrics(files: BundleFiles, model: Bundle) -> L4Metrics | None:
    """The report's L4 table from every ztunnel whose /metrics was collected; None when none was."""
    from analyzer.views.metrics import l4_metrics
    from ztbundle import layout

    texts = {}
    for zt in model.ztunnels:
        member = layout.ztunnel_metrics(zt.name)
        if files.has(member):
            texts[zt.name] = files.text(member)
    return l4_metrics(texts) if texts else None


def run(args: argparse.Namespace) -> Exit:
    from analyzer import analyze_bundle
    from analyzer.bundle import open_bundle
    from analyzer.limits import DEFAULT
    from analyzer.load import load_bundle
    from analyzer.report import Format, html, render
    from rules import Severity

    _known_rules(args.disable, args.rules_dir)
    files = open_bundle(args.bundle, DEFAULT.scaled(args.limit_scale))  # BundleError names file and member
    model = load_bundle(files)  # kept: the HTML node grid and ztunnel tables read the model too
    result = analyze_bundle(model, now=args.now, disabled=args.disable, extra_rules_dir=args.rules_dir)
    result = dataclasses.replace(result, bundle_path=str(files.path))
    fmt = Format(args.format)
    if fmt is Format.HTML:
        text = html.render(result, model, _l4_metrics(files, model))
    else:
        text = render(result, fmt)
    if fmt is Format.TEXT and args.out is None:
        sys.stdout.write(text)  # text is for reading: it goes to the terminal unless -o names a file
    elif args.out == "-":
        sys.stdout.write(text)
        print(_summary(result, None), file=sys.stderr)
    else:
        out = Path(args.out) if args.out else args.bundle.with_name(f"{args.bundle.name}.report.{fmt.value}")
        write_file(out, text.encode("utf-8"), "report")  # never through a link planted at `out`
        print(_summary(result, str(out)))
    fail_on = None if args.fail_on == "never" else Severity(args.fail_on)
    return Exit.FINDINGS if result.has_at_least(fail_on) else Exit.OK
