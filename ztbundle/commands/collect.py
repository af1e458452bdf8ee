"""`ztbundle collect`: snapshot a live cluster's Istio ambient state into one .tar.gz bundle."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ztbundle.commands._args import duration, positive_int, size
from ztbundle.errors import UsageError
from ztbundle.exits import Exit

if TYPE_CHECKING:
    from collector.collect import CollectResult
    from collector.discovery import Plan
    from collector.runner import ProgressEvent


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("collect", help="snapshot a live cluster into a diagnostic bundle (.tar.gz)")
    p.add_argument("--kubeconfig", help="kubeconfig path (default: $KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context (default: the current context)")
    p.add_argument("--istio-namespace", metavar="NS", help="Istio namespace (default: where istiod runs)")
    p.add_argument(
        "-o", "--out", type=Path, help="bundle path (default: ztbundle-<context>-<UTC time>.tar.gz)"
    )
    p.add_argument("--since", type=duration, metavar="DURATION", help="only logs newer than this, e.g. 30m")
    p.add_argument("--concurrency", type=positive_int, default=16, metavar="N", help="parallel requests (16)")
    p.add_argument(
        "--timeout", type=duration, default=30.0, metavar="SECONDS", help="per-request timeout (30)"
    )
    p.add_argument(
        "--deadline", type=duration, default=600.0, metavar="DURATION", help="whole-run deadline (10m)"
    )
    p.add_argument(
        "--node",
        dest="nodes",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="only these nodes' ztunnel, istio-cni and waypoint pods",
    )
    p.add_argument(
        "--for",
        dest="for_pods",
        action="append",
        default=[],
        metavar="POD",
        help="only what this pod's connections need (namespace/name or a unique name; repeatable)",
    )
    p.add_argument(
        "--to",
        metavar="TARGET",
        help="with --for: the target too (service ns/name[:port] or hostname, pod, or IP[:port])",
    )
    p.add_argument(
        "--max-artifact-size",
        type=size,
        default=256 << 20,
        metavar="SIZE",
        help="keep at most this much of one body, flagged truncated (256Mi)",
    )
    p.add_argument(
        "--max-size",
        type=size,
        default=25_000_000,
        metavar="SIZE",
        help="trim logs (errors and warnings first) to keep the bundle under this; dumps always go in (25MB)",
    )
    p.add_argument(
        "--no-dedup", action="store_true", help="store every dump whole (format 1) instead of shared pieces"
    )
    p.add_argument("-y", "--yes", action="store_true", help="skip the pause before a large unfiltered run")
    p.add_argument(
        "--pseudonymize",
        action="store_true",
        help="replace namespaces, pod and node names and IPs consistently; the mapping is written next "
        "to the bundle (<bundle>.mapping.json), never inside it",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> Exit:
    from collector import preflight
    from collector.collect import CollectRequest, run_collect
    from collector.discovery import Options

    if args.to and not args.for_pods:
        raise UsageError("--to needs --for POD: the source of the path to collect for")
    if args.out is not None and args.out.is_dir():
        raise UsageError(f"{args.out}: is a directory; give a file name for the bundle")
    request = CollectRequest(
        options=Options(
            istio_namespace=args.istio_namespace,
            since_s=int(args.since) if args.since else None,
            nodes=frozenset(args.nodes),
            for_pods=tuple(args.for_pods),
            to=args.to,
            timeout_s=args.timeout,
            max_bytes=args.max_artifact_size,
        ),
        kubeconfig=args.kubeconfig,
        context=args.context,
        out=args.out,
        concurrency=args.concurrency,
        deadline_s=args.deadline,
        argv=_argv(args),
        max_size=args.max_size,
        dedupe=not args.no_dedup,
        confirm=functools.partial(_large_cluster_guard, args),
        pseudonymize=args.pseudonymize,
    )
    preflight.echo_to(None if args.quiet else sys.stderr)  # RBAC warnings before the run starts
    tty = sys.stderr.isatty()
    display = None if args.quiet else (_RichProgress() if tty else _PlainProgress(sys.stderr))
    try:
        result = run_collect(request, display)
    finally:
        if isinstance(display, _RichProgress):
            display.stop()
    if args.pseudonymize:
        from collector.pseudonymize import mapping_path

        print(
            f"ztbundle: pseudonymized; mapping (keep it private): {mapping_path(result.path)}",
            file=sys.stderr,
        )
    _summary(result, rich=sys.stdout.isatty())
    if result.interrupted:
        return Exit.INTERRUPTED
    return Exit.OK if result.complete else Exit.INCOMPLETE


def _large_cluster_guard(args: argparse.Namespace, plan: Plan, planned: int) -> None:
    """Print the estimate for a large unfiltered run, then pause so Ctrl-C can stop it.

    The pause is a timed wait, not a prompt, so it behaves the same without a TTY: CI (no stdin)
    gets the estimate in its log and goes on after the pause; `--yes` skips it.
    """
    from collector import guard

    if not guard.applies(plan):
        return
    est = guard.estimate(plan, planned, args.concurrency, args.max_size)
    for line in est.lines():
        print(f"ztbundle: {line}", file=sys.stderr)
    if args.yes:
        return
    print(
        f"ztbundle: starting in {guard.PAUSE_S:g} s; press Ctrl-C to abort "
        "(limit with --node or --since, or skip this pause with --yes)",
        file=sys.stderr,
        flush=True,
    )
    time.sleep(guard.PAUSE_S)


def _argv(args: argparse.Namespace) -> tuple[str, ...]:
    """The command as parsed (cli.main does not hand us its argv); recorded in the manifest."""
    out = ["collect"]
    for flag, value in (
        ("--kubeconfig", args.kubeconfig),
        ("--context", args.context),
        ("--istio-namespace", args.istio_namespace),
        ("--out", args.out),
        ("--since", f"{args.since:g}s" if args.since else None),
        ("--concurrency", args.concurrency),
        ("--timeout", f"{args.timeout:g}"),
        ("--deadline", f"{args.deadline:g}s"),
        ("--max-artifact-size", args.max_artifact_size),
        ("--max-size", args.max_size),
    ):
        if value is not None:
            out += [flag, str(value)]
    for node in args.nodes:
        out += ["--node", node]
    for pod in args.for_pods:
        out += ["--for", pod]
    if args.to:
        out += ["--to", args.to]
    flags = [
        f for f, on in (("--no-dedup", args.no_dedup), ("--yes", args.yes), ("--quiet", args.quiet)) if on
    ]
    return tuple(out + flags)


class _PlainProgress:
    """Non-TTY progress: one line per failure and a count every few seconds."""

    def __init__(self, out: TextIO, every_s: float = 2.0) -> None:
        self.out = out
        self.every_s = every_s
        self.last = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        a = event.last
        if a is not None and a.status.value != "ok":
            print(f"ztbundle: {a.item.path}: {a.status.value}: {a.error}", file=self.out)
        now = time.monotonic()
        if now - self.last >= self.every_s or event.done == event.total:
            self.last = now
            slow = f", slowest {event.slowest} {event.slowest_s:.0f}s" if event.slowest else ""
            print(f"ztbundle: {event.done}/{event.total} done, {event.failed} failed{slow}", file=self.out)


class _RichProgress:
    """TTY progress bar: done/total, failures so far, and the slowest item still running."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("collecting"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[slowest]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.task: Any = None

    def __call__(self, event: ProgressEvent) -> None:
        if self.task is None:
            self.progress.start()
            self.task = self.progress.add_task("collect", total=event.total, failed=0, slowest="")
        slow = (
            f"slowest: {event.slowest} ({event.slowest_s:.0f}s)"
            if event.slowest and event.slowest_s >= 1
            else ""
        )
        self.progress.update(self.task, completed=event.done, failed=event.failed, slowest=slow)

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()


def _human(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _headline(result: CollectResult) -> str:
    if result.interrupted:
        state = "interrupted; partial bundle written"
    elif result.deadline_exceeded:
        state = "deadline exceeded; partial bundle written"
    elif result.complete:
        state = "complete"
    else:
        state = "incomplete"
    return f"{state}: {result.collected}/{result.total} artifacts collected, {len(result.missing)} missing"


def _summary(result: CollectResult, *, rich: bool) -> None:
    """One screen: what was collected, what is missing and why, and where the bundle is."""
    shown = result.missing[:20]
    if rich:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.print(_headline(result))
        if shown:
            table = Table("missing artifact", "status", "reason", show_lines=False)
            for f in shown:
                table.add_row(f.path, f.status.value, f.reason)
            console.print(table)
        if len(result.missing) > len(shown):
            console.print(f"… and {len(result.missing) - len(shown)} more (see manifest.json)")
        console.print(f"bundle: {result.path} ({_human(result.size)})")
        return
    print(_headline(result))
    for f in shown:
        print(f"  missing {f.path}: {f.status.value}: {f.reason}")
    if len(result.missing) > len(shown):
        print(f"  … and {len(result.missing) - len(shown)} more (see manifest.json)")
    print(f"bundle: {result.path} ({_human(result.size)})")
