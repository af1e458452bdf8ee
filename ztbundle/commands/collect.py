"""`ztbundle collect`: snapshot a live cluster's Istio ambient state into one .tar.gz bundle."""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

from ztbundle.commands._args import add_moved, add_out_file, duration, positive_int, size, unknown_name
from ztbundle.commands._progress import PlainProgress as _PlainProgress
from ztbundle.commands._progress import Printable, inert
from ztbundle.commands._progress import RichProgress as _RichProgress
from ztbundle.errors import OutputClosed, UsageError
from ztbundle.exits import Exit

if TYPE_CHECKING:
    from collector.collect import CollectResult
    from collector.discovery import Plan


EPILOG = """examples:
  # the current kubeconfig context; writes ztbundle-<context>-<UTC time>.tar.gz here
  ztbundle collect

  # another context, only the last 30 minutes of logs, a chosen file name
  ztbundle collect --context prod-eu --since 30m --out-file incident.tar.gz

  # only two nodes' ztunnel, istio-cni and waypoint pods; Istio in a non-default namespace
  ztbundle collect --node worker-3 --node worker-7 -i istio-ambient

  # names and IPs replaced consistently, safe to attach to a public issue
  ztbundle collect --pseudonymize

then: ztbundle analyze <bundle>"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "collect",
        help="snapshot a live cluster into a diagnostic bundle (.tar.gz)",
        description="snapshot a live cluster's Istio ambient state (read-only) into one .tar.gz bundle",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--kubeconfig", help="kubeconfig path (default: $KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context (default: the current context)")
    p.add_argument(
        "-i",
        "--istio-namespace",
        "--istioNamespace",  # istioctl's spelling
        dest="istio_namespace",
        metavar="NS",
        help="Istio namespace, as istioctl's -i (default: where istiod runs)",
    )
    add_moved(p, "-n", "--namespace", instead="-i {value} (the Istio namespace is -i/--istio-namespace)")
    add_out_file(
        p,
        "bundle path, - for stdout (default: ztbundle-<context>-<UTC time>.tar.gz in the current directory)",
    )
    add_moved(
        p, "-o", "--output", instead="--out-file {value} (-o is an output format; collect writes a bundle)"
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing --out-file")
    p.add_argument("--since", type=duration, metavar="DURATION", help="only logs newer than this, e.g. 30m")
    p.add_argument("--concurrency", type=positive_int, default=16, metavar="N", help="parallel requests (16)")
    p.add_argument(
        "--timeout", type=duration, default=30.0, metavar="DURATION", help="per-request timeout (30s)"
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
        help="only these nodes' ztunnel, istio-cni and waypoint pods (an unknown node is an error)",
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
    p.add_argument("-y", "--yes", action="store_true", help="skip the pause before a long unfiltered run")
    p.add_argument(
        "--pseudonymize",
        action="store_true",
        help="replace namespaces, pod and node names and IPs consistently; the mapping is written next "
        "to the bundle (<bundle>.mapping.json), never inside it",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def _target(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    """(where the collector writes, a temporary directory to remove) for --out-file."""
    if args.out_file == "-":
        if args.pseudonymize:
            raise UsageError(
                "--out-file -: --pseudonymize writes its mapping next to the bundle; give a path"
            )
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="ztbundle-"))
        return tmp / "bundle.tar.gz", tmp
    if args.out_file is None:
        return None, None
    out = Path(args.out_file)
    if out.is_dir():
        raise UsageError(f"{out}: is a directory; give a file name for the bundle")
    if out.exists() and not args.force:
        raise UsageError(f"{out}: already exists; choose another --out-file or add --force to overwrite it")
    return out, None


def run(args: argparse.Namespace) -> Exit:
    from collector import preflight
    from collector.collect import CollectRequest, run_collect
    from collector.discovery import Options

    if args.to and not args.for_pods:
        raise UsageError("--to needs --for POD: the source of the path to collect for")
    out, tmp = _target(args)
    say = _Say(None if args.quiet else sys.stderr, args.prog)
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
        out=out,
        concurrency=args.concurrency,
        deadline_s=args.deadline,
        argv=_argv(args),
        max_size=args.max_size,
        dedupe=not args.no_dedup,
        confirm=functools.partial(_before_run, args, say),
        announce=say.connected,
        pseudonymize=args.pseudonymize,
    )
    # RBAC warnings before the run starts; they may quote the API server, so they are escaped too.
    preflight.echo_to(None if args.quiet else cast(TextIO, Printable(sys.stderr)))
    tty = sys.stderr.isatty()
    display = None if args.quiet else (_RichProgress() if tty else _PlainProgress(sys.stderr))
    try:
        from collector.kube import quiet_tls_warnings

        with quiet_tls_warnings(say.line):
            result = run_collect(request, display)
    finally:
        if isinstance(display, _RichProgress):
            display.stop()
    if args.pseudonymize:
        from collector.pseudonymize import mapping_path

        say.line(f"pseudonymized; mapping (keep it private): {mapping_path(result.path)}")
    if tmp is not None:
        _stream_and_remove(result.path, tmp)
        _summary(result, rich=False, out=sys.stderr, shown_path="-", prog=args.prog)
    else:
        _summary(
            result, rich=sys.stdout.isatty(), out=sys.stdout, shown_path=str(result.path), prog=args.prog
        )
    if result.interrupted:
        return Exit.INTERRUPTED
    return Exit.OK if result.complete else Exit.INCOMPLETE


def _stream_and_remove(path: Path, tmp: Path) -> None:
    """Write the bundle to stdout, then remove it; if the reader goes first, keep it and say where."""
    import shutil

    try:
        with path.open("rb") as f:
            sys.stdout.flush()
            shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise OutputClosed(
            f"-: stdout closed by its reader before the whole bundle was written; bundle kept at {path}"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)


class _Say:
    """Status lines on stderr (`ztbundle: …`), or nowhere with --quiet."""

    def __init__(self, stream: TextIO | None, prog: str) -> None:
        self.stream = stream
        self.prog = prog

    def line(self, text: str) -> None:
        if self.stream is not None:
            print(f"ztbundle: {text}", file=self.stream, flush=True)

    @staticmethod
    def always(text: str) -> None:
        """Even with --quiet: what is about to cost the user time (the large-cluster guard)."""
        print(f"ztbundle: {text}", file=sys.stderr, flush=True)

    def connected(self, context: str | None, server: str, source: str) -> None:
        self.line(f"context {context or '?'}, server {server} (kubeconfig {source}); discovering Istio…")


def _before_run(args: argparse.Namespace, say: _Say, plan: Plan, planned: int) -> None:
    """After discovery, before any artifact is requested: check --node, say what runs, maybe pause.

    An unknown --node is a usage error here, so a typo costs nothing and writes nothing. The guard's
    pause is a timed wait, not a prompt, so it behaves the same without a TTY; it happens only when
    the estimate is long, and `--yes` skips it.
    """
    from collector import guard

    known = {p.node for p in (*plan.ztunnels_all, *plan.cnis_all, *plan.waypoints_all) if p.node}
    for node in args.nodes:
        if node not in known:
            raise UsageError(unknown_name("--node", node, known, "node running an Istio pod"))
    say.line(
        f"Istio namespace {plan.istio_namespace}: {len(plan.istiods)} istiod, {len(plan.ztunnels)} ztunnel "
        f"pod(s) selected; {planned} request(s) to make"
    )
    if not guard.applies(plan):
        return
    est = guard.estimate(plan, planned, args.concurrency, args.max_size)
    for line in est.lines():
        say.always(line)
    if args.yes or not guard.worth_pausing(est):
        return
    say.always(
        f"starting in {guard.PAUSE_S:g} s; press Ctrl-C to abort "
        "(limit with --node or --since, or skip this pause with --yes)"
    )
    time.sleep(guard.PAUSE_S)


def _argv(args: argparse.Namespace) -> tuple[str, ...]:
    """The command as parsed (cli.main does not hand us its argv); recorded in the manifest."""
    out = ["collect"]
    for flag, value in (
        ("--kubeconfig", args.kubeconfig),
        ("--context", args.context),
        ("--istio-namespace", args.istio_namespace),
        ("--out-file", args.out_file),
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
        f
        for f, on in (
            ("--no-dedup", args.no_dedup),
            ("--yes", args.yes),
            ("--quiet", args.quiet),
            ("--force", args.force),
        )
        if on
    ]
    return tuple(out + flags)


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
    expected = f", {result.expected} expected non-answer(s) from istiod replicas" if result.expected else ""
    return f"{state}: {result.collected}/{result.total} collected, {len(result.missing)} missing{expected}"


def _interrupted_line(result: CollectResult) -> str:
    """After Ctrl-C one line, not a table: what was kept and what was given up."""
    return (
        f"interrupted: {result.collected}/{result.total} collected; {result.abandoned} request(s) in flight "
        f"abandoned, {result.not_started} not started; partial bundle written"
    )


def _summary(result: CollectResult, *, rich: bool, out: TextIO, shown_path: str, prog: str) -> None:
    """One screen: what was collected, what is missing and why, where the bundle is, what next."""
    where = (
        f"context {result.context or '?'}, server {result.server or '?'}, "
        f"Istio namespace {result.istio_namespace}"
    )
    tail = [f"bundle: {shown_path} ({_human(result.size)}); {where}"]
    if shown_path != "-":
        tail.append(f"next: {prog} analyze {shown_path}")
    if result.interrupted:
        print(_interrupted_line(result), file=out)
        print("\n".join(tail), file=out)
        return
    shown = result.missing[:20]
    if rich:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        console = Console(file=out)
        console.print(escape(_headline(result)))
        if shown:
            table = Table("missing artifact", "status", "reason", show_lines=False)
            for f in shown:
                table.add_row(inert(f.path, markup=True), f.status.value, inert(f.reason, markup=True))
            console.print(table)
        if len(result.missing) > len(shown):
            console.print(f"… and {len(result.missing) - len(shown)} more (see manifest.json)")
        for line in tail:
            console.print(escape(line), highlight=False)
        return
    print(_headline(result), file=out)
    for f in shown:
        print(f"  missing {inert(f.path)}: {f.status.value}: {inert(f.reason)}", file=out)
    if len(result.missing) > len(shown):
        print(f"  … and {len(result.missing) - len(shown)} more (see manifest.json)", file=out)
    print("\n".join(tail), file=out)
