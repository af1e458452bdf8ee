"""`ztbundle analyze BUNDLE`: analyse a bundle offline and write a report."""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.text import printable_line
from ztbundle.commands._args import add_bundle, add_limit_scale, rfc3339
from ztbundle.errors import UsageError
from ztbundle.exits import Exit

if TYPE_CHECKING:
    from analyzer import AnalysisResult

_FAIL_ON = ("error", "warning", "info", "never")
SHOWN_INCIDENTS = 3  # the terminal summary; the report and `--format text` list them all


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


def _wrapped(label: str, text: str, width: int) -> list[str]:
    """`label` then `text` wrapped to `width`, continuation lines indented under the text."""
    return textwrap.wrap(
        printable_line(text),
        width,
        initial_indent=label,
        subsequent_indent=" " * len(label),
        break_on_hyphens=False,
        break_long_words=False,
    )


def _summary(result: AnalysisResult, out: str | None) -> str:
    """Incidents first, most urgent on top, each with its Fix and the next offline command."""
    width = max(60, min(shutil.get_terminal_size((100, 24)).columns, 120))
    lines: list[str] = []
    shown = result.incidents[:SHOWN_INCIDENTS]
    for inc in shown:
        lines += _wrapped(f"{inc.severity.value.upper():7} ", inc.headline, width)
        rule = result.rule(inc.root.code)
        if rule is not None and rule.fix_line:
            lines += _wrapped("  fix:  ", rule.fix_line, width)
        for step in inc.next_steps[:1]:
            lines += _wrapped("  next: ", step, width)
    if len(result.incidents) > len(shown):
        more = len(result.incidents) - len(shown)
        lines.append(f"… and {more} more incident(s): `--format text` lists every one with its findings")
    lines.append(result.summary_line())
    n = len(result.collection_errors)
    if n and not result.manifest.complete:  # an incomplete bundle limits what the findings can say
        lines.append(f"bundle incomplete: {n} artifact(s) not collected (listed in the report)")
    elif n:  # the collector judged every failure expected (istiod replicas a ztunnel is not on)
        expected = f"{n} expected non-answer(s), e.g. from istiod replicas"
        lines.append(f"bundle complete; {expected} (in the report)")
    if out:
        lines.append(f"report: {out}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> Exit:
    import rules
    from analyzer import analyze_bundle
    from analyzer.bundle import open_bundle
    from analyzer.limits import DEFAULT
    from analyzer.report import Format, render
    from rules import Severity

    _known_rules(args.disable, args.rules_dir)
    files = open_bundle(args.bundle, DEFAULT.scaled(args.limit_scale))  # BundleError names file and member
    extra = rules.load_dir(args.rules_dir) if args.rules_dir else ()
    result = analyze_bundle(files, rules.combined(extra), now=args.now, disabled=args.disable)
    fmt = Format(args.format)
    text = render(result, fmt)
    if fmt is Format.TEXT and args.out is None:
        sys.stdout.write(text)  # text is for reading: it goes to the terminal unless -o names a file
    elif args.out == "-":
        sys.stdout.write(text)
        print(_summary(result, None), file=sys.stderr)
    else:
        out = Path(args.out) if args.out else args.bundle.with_name(f"{args.bundle.name}.report.{fmt.value}")
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{out}: cannot write report: {exc.strerror or exc}") from None
        print(_summary(result, str(out)))
    fail_on = None if args.fail_on == "never" else Severity(args.fail_on)
    return Exit.FINDINGS if result.has_at_least(fail_on) else Exit.OK
