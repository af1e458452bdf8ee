"""`ztbundle analyze BUNDLE`: analyze a bundle offline and write a report."""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from analyzer.text import printable_line
from ztbundle.commands._args import (
    add_bundle,
    add_limit_scale,
    add_out_file,
    add_output,
    choice,
    output_format,
    time_or_offset,
)
from ztbundle.errors import UsageError
from ztbundle.exits import Exit

if TYPE_CHECKING:
    from analyzer import AnalysisResult

_FAIL_ON = ("error", "warning", "info", "never")
SHOWN_INCIDENTS = 3  # the terminal summary; the report and `--format text` list them all


EPILOG = """examples:
  # write bundle.tar.gz.report.html next to the bundle and print a summary
  ztbundle analyze bundle.tar.gz

  # every finding on the terminal; the JSON contract on stdout (for jq or a ticket)
  ztbundle analyze bundle.tar.gz -o text
  ztbundle analyze bundle.tar.gz -o json | jq '.findings[].code'

  # the HTML report somewhere else; exit 1 on warnings too (for scripts)
  ztbundle analyze bundle.tar.gz --out-file /tmp/incident.html --fail-on warning

  # judge certificate lifetimes at another time than the collection time: a time, or 30 days later
  ztbundle analyze bundle.tar.gz --now 2026-01-01T12:00:00Z
  ztbundle analyze bundle.tar.gz --now +30d"""

_FORMATS = ("html", "json", "text")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "analyze",
        help="analyze a bundle offline and write a report",
        description="analyze a bundle written by `ztbundle collect`, offline",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_bundle(p)
    add_output(
        p,
        _FORMATS,
        "html",
        help="report format: html (default; written to <bundle>.report.html), json or text (to stdout)",
    )
    # `--format` was the format's first spelling; it keeps working, hidden, with the same meaning.
    p.add_argument(
        "--format",
        dest="output",
        type=output_format(_FORMATS),
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )
    add_out_file(p, "write the report here, - for stdout (default: html next to the bundle, others stdout)")
    p.add_argument(
        "--fail-on",
        type=choice(_FAIL_ON),
        default="error",
        metavar="{" + ",".join(_FAIL_ON) + "}",
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
        "--now",
        type=time_or_offset,
        metavar="TIME",
        help="analysis time for time-based rules: RFC 3339, or +30d/-2h from the collection time "
        "(default: collection time)",
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
    from ztbundle import layout

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
        lines.append(f"… and {more} more incident(s): `-o text` lists every one with its findings")
    lines.append(result.summary_line())
    count = layout.tally((a.path, a.input, a.status, a.error) for a in result.manifest.artifacts.values())
    if count.missing or count.expected:  # the same count `collect` printed (`layout.Tally`)
        state = "complete" if result.manifest.complete else "incomplete"
        lines.append(f"bundle {state}: {count.line()} (listed in the report)")
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
    fmt = Format(args.output)
    text = render(result, fmt)
    # Like kubectl, -o json|text prints to stdout; the HTML report is a file to open in a browser.
    dest = args.out_file or (None if fmt is not Format.HTML else "")
    if dest is None and fmt is Format.TEXT:
        sys.stdout.write(text)  # text is for reading: the summary would repeat it
    elif dest is None or dest == "-":
        sys.stdout.write(text)
        print(_summary(result, None), file=sys.stderr)
    else:
        out = Path(dest) if dest else args.bundle.with_name(f"{args.bundle.name}.report.{fmt.value}")
        _write_private(out, text)
        print(_summary(result, str(out)))
    fail_on = None if args.fail_on == "never" else Severity(args.fail_on)
    return Exit.FINDINGS if result.has_at_least(fail_on) else Exit.OK


def _write_private(out: Path, text: str) -> None:
    """Write the report 0600 like the bundle it describes (it quotes pod names, IPs and log lines)."""
    import os

    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)  # an existing file keeps its mode on open; tighten it
            f.write(text)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write report: {exc.strerror or exc}") from None
