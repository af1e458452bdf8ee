"""`ztbundle logs BUNDLE`: ztunnel access-log records from a bundle, filtered, as a table or JSON."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from analyzer.text import printable_line
from ztbundle.commands._args import (
    add_bundle,
    add_output,
    choice,
    positive_int,
    resolve_time,
    time_or_duration,
    utc_z,
)
from ztbundle.exits import Exit

EPILOG = """examples:
  # failed connections to the reviews service in the last 10 minutes before collection
  ztbundle logs bundle.tar.gz --service reviews --errors --since 10m

  # the last 20 records of one ztunnel, every column (addresses, identities, durations)
  ztbundle logs bundle.tar.gz --ztunnel ztunnel-x7k2p --tail 20 -o wide

  # every inbound record of one workload, as JSON
  ztbundle logs bundle.tar.gz --direction inbound --workload productpage-v1 -o json

--since and --until take an RFC 3339 time or a duration counted back from the collection time."""


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
    p.add_argument(
        "--direction",
        type=choice(("inbound", "outbound")),
        metavar="{inbound,outbound}",
        help="only this direction",
    )
    p.add_argument(
        "--workload", metavar="NAME", help="source or destination pod (or its prefix, e.g. app-v1)"
    )
    p.add_argument("--service", metavar="HOST", help="destination service hostname or short name")
    p.add_argument("--errors", action="store_true", help="only failed connections")
    p.add_argument(
        "--previous",
        action="store_true",
        help="only the previous container's log (the run before the last restart), with its last error lines",
    )
    p.add_argument(
        "--since",
        type=time_or_duration,
        metavar="TIME",
        help="only records at or after this (10m or RFC 3339)",
    )
    p.add_argument(
        "--until",
        type=time_or_duration,
        metavar="TIME",
        help="only records at or before this (10m or RFC 3339)",
    )
    p.add_argument("--tail", type=positive_int, metavar="N", help="only the last N matching records")
    add_output(
        p,
        ("text", "wide", "json", "yaml"),
        "text",
        help="output format: text (fits the terminal), wide, json, yaml",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    import json
    import shutil

    from analyzer.errors import NotCollected
    from analyzer.model import Input
    from analyzer.views import logs as access
    from analyzer.views.source import open_source
    from ztbundle.commands import _pick

    src = open_source(args.bundle)
    _pick.check_ztunnel(src, args.ztunnel)
    at = src.index.collected_at  # durations count back from the bundle time, like --now defaults
    since, until = resolve_time(args.since, at), resolve_time(args.until, at)
    q = access.Query(
        args.ztunnel, args.direction, args.workload, args.service, args.errors, since, until, args.previous
    )
    log = access.access_log(src.model, q)
    if log.files == 0 and args.previous:
        which = f"ztunnel {args.ztunnel}" if args.ztunnel else "any ztunnel"
        raise NotCollected(src.path, None, f"no previous container log of {which}: it has not restarted")
    if log.files == 0:
        why = src.model.availability(Input.ZTUNNEL_LOGS).reason or "no ztunnel log in the bundle"
        raise NotCollected(src.path, None, f"no ztunnel logs were collected: {why}")
    for note in access.malformed_notes(log.malformed):
        print(f"ztbundle: {note}", file=sys.stderr)
    matched = len(log.entries)
    if args.tail is not None:
        log = dataclasses.replace(log, entries=log.entries[-args.tail :])
    if args.output in ("json", "yaml"):
        records = [access.record_json(e) for e in log.entries]
        if args.output == "json":
            sys.stdout.write(json.dumps(records, indent=2) + "\n")
        else:
            import yaml

            sys.stdout.write(yaml.safe_dump(records, sort_keys=False))
    elif log.entries:
        width = shutil.get_terminal_size((120, 24)).columns
        table = access.table(log) if args.output == "wide" else access.short_table(log, width)
        sys.stdout.write(table.render())
    if args.previous and args.output not in ("json", "yaml"):
        for words in access.last_words(src.model, q):
            print(printable_line(f"last error lines of {words.path}:"))
            for line, level, message in words.lines:
                print(printable_line(f"  {line:>6}  {level:5}  {message}"))
    shown = f" (showing the last {len(log.entries)})" if len(log.entries) < matched else ""
    window = "".join(
        f", {name} {utc_z(t)}" for name, t in (("since", since), ("until", until)) if t is not None
    )
    print(
        f"ztbundle: {matched} record(s){shown} from {log.files} ztunnel log file(s){window}",
        file=sys.stderr,
    )
    return Exit.OK
