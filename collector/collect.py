"""One collection run end to end: credentials → discovery → plan → run → tool log → manifest → rename."""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collector import preflight, redact
from collector.archive import BundleWriter
from collector.body import Body
from collector.budget import write_logs
from collector.context import StepContext
from collector.discovery import Options, Plan, discover
from collector.kube import ClientPool, load_cluster_config
from collector.manifest import Artifact, Manifest, tool_log_item, utc_now
from collector.paths import narrow
from collector.runner import ProgressCallback, Runner, Then
from collector.steps import Item, Step, cluster_objects, istiod_proxy, load_steps, ztunnel_config_dump
from collector.toollog import ToolLog
from collector.transport import Kubectl, PortForwarder
from ztbundle import layout, schema_check
from ztbundle.layout import Input, Status

LOG = logging.getLogger("ztbundle.collect")


@dataclass(frozen=True, slots=True)
class CollectRequest:
    """Everything `ztbundle collect` was asked to do."""

    options: Options
    kubeconfig: str | None = None
    context: str | None = None
    out: Path | None = None
    concurrency: int = 16
    deadline_s: float = 600.0
    argv: tuple[str, ...] = ()
    max_size: int = 25_000_000  # logs are trimmed to keep the bundle under this (dumps always go in)
    dedupe: bool = True  # format 2 shared objects; False writes a format-1 bundle (all raw members)
    confirm: Callable[[Plan, int], None] | None = None  # the large-cluster guard (`collector.guard`)
    # Told (context, server, kubeconfig source) as soon as the kubeconfig is read, before discovery.
    announce: Callable[[str | None, str, str], None] | None = None
    pseudonymize: bool = False  # names and IPs replaced; the real-name archive never reaches `out`


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    status: Status
    reason: str


@dataclass(frozen=True, slots=True)
class CollectResult:
    """What the CLI summarises: where the bundle is and what is missing from it."""

    path: Path
    size: int
    total: int  # collected + missing + expected, as `layout.Tally` counts (our own log is not counted)
    collected: int
    missing: tuple[Failure, ...]
    complete: bool
    interrupted: bool
    deadline_exceeded: bool
    context: str | None
    istio_namespace: str
    expected: int = 0  # expected non-answers (istiod replicas a ztunnel is not connected to)
    server: str = ""
    abandoned: int = 0  # interrupted: requests still in flight, abandoned
    not_started: int = 0  # interrupted or past the deadline: items never requested


def plan_items(plan: Plan, steps: list[Step]) -> list[tuple[Step, Item]]:
    """Every item of every step, in step priority order."""
    return [(step, item) for step in steps for item in step.items(plan)]


_ROUTING = (Input.ISTIOD_SYNCZ, Input.ISTIOD_CONNECTIONS, Input.ISTIOD_VERSION)


def _rank(step: Step, item: Item) -> int | None:
    """Where an item runs before per-proxy views are planned (lower first), or None: after."""
    if step.name == cluster_objects.NAME:
        return 0
    if item.input in _ROUTING:
        return 1  # every replica's routing and release: small, and what the second phase is planned from
    if step.name == ztunnel_config_dump.NAME or step.after_earlier:
        # The big independent work, so waiting for the routing costs nothing; then the pod witness,
        # which starts once every dump has landed, while the items behind it are still running.
        return 2
    if step.name == istiod_proxy.NAME:
        return None  # planned from the routing
    return 3  # needs no routing: beside the dumps, in the workers the runner keeps off heavy items


def _first(step: Step, item: Item) -> bool:
    return _rank(step, item) is not None


def _phases(
    plan: Plan, steps: list[Step], routes: istiod_proxy.Routes
) -> tuple[list[tuple[Step, Item]], Callable[[], list[tuple[Step, Item]]]]:
    """The first phase's items, and a function planning the rest once the routing is known.

    The first phase keeps the steps' priority (cluster objects, then ztunnel dumps) with the routing
    slipped in between, so under a deadline nothing important waits for it; the dumps run while the
    routing is awaited, so a slow syncz costs only the part of its wait that outlasts them. Every
    other item that needs no routing (configuration lists, istiod's other debug pages, metrics,
    logs) follows in the first phase: the runner starts those on the workers it keeps off the dumps
    (`Step.heavy`), so these small, latency-bound requests overlap the dumps' CPU-bound work instead
    of waiting for it. The pod witness sits right after the dumps and starts when the last one lands
    (`collector.schedule.Queue`), beside the logs still being read. The second phase is istiod's
    per-proxy views: the runner plans them once the routing has landed and starts them as soon as the
    dumps are out, ahead of the small requests still waiting (`Runner.run`'s `then`).
    """
    first = sorted(
        ((s, i) for s, i in plan_items(plan, steps) if _first(s, i)), key=lambda si: _rank(*si) or 0
    )

    def rest() -> list[tuple[Step, Item]]:
        out: list[tuple[Step, Item]] = []
        for step in steps:
            routed = step.name == istiod_proxy.NAME
            items = istiod_proxy.routed_items(plan, routes) if routed else step.items(plan)
            out += [(step, item) for item in items if not _first(step, item)]
        return out

    return first, rest


def _learn_route(routes: istiod_proxy.Routes, item: Item, body: Body) -> None:
    if item.input in _ROUTING and item.pod is not None:
        routes.learn(item.pod.name, item.input, body.read_bytes())


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _tame_malloc() -> None:
    """Keep freed body buffers from pinning RSS (glibc only; a no-op elsewhere).

    glibc gives each worker thread its own arena and raises its mmap threshold after the first
    big free, so multi-MB transient buffers end up parked in up to 8×cores arenas. Two arenas and
    a fixed 1 MiB mmap threshold return them to the OS instead.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD (also stops its dynamic growth)
    except (OSError, AttributeError):
        return


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the cycle collector ~140 times less often while collecting, then as before.

    A run allocates and frees parsed pages, members and requests by the million, nearly all freed by
    reference counting; at the default threshold (a young collection every 700 allocations) the
    collector still walked the heap for them: 0.11 s of a 100-node collect and 0.91 s of a 1,000-node
    one, with 16 full collections of up to 94 ms each. At 100,000 it costs 0.02 and 0.11 s, and the
    1,000-node peak RSS stays where it was (274 against 278 MiB): what cycles there are still go.
    """
    before = gc.get_threshold()
    gc.set_threshold(100_000, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def run_collect(request: CollectRequest, progress: ProgressCallback | None = None) -> CollectResult:
    """Collect a bundle; raise ClusterError (exit 6) when nothing at all can be collected."""
    started = time.monotonic()
    _tame_malloc()
    cluster = load_cluster_config(request.kubeconfig, request.context)
    host = cluster.configuration.host
    if request.announce is not None:
        request.announce(cluster.context, host, cluster.source)
    with _rare_collections(), ToolLog(cluster.secrets) as toollog:
        LOG.info("ztbundle collect: context %s, server %s, config %s", cluster.context, host, cluster.source)
        pool = ClientPool(cluster.configuration)
        forwarder = PortForwarder(Kubectl.find(request.kubeconfig, request.context), cluster.configuration)
        # The manifest's check compiles while discovery and the preflight wait on the API server.
        schema_check.compile_ahead()
        try:
            plan = discover(pool.get(), request.options, host)
            if request.options.for_pods:  # `--for`/`--to`: only what those paths touch
                plan = narrow(pool.get(), plan, host)
            LOG.info(
                "found Istio in %s: %d istiod, %d ztunnel (%d selected), %d istio-cni, %d waypoint pods",
                plan.istio_namespace,
                len(plan.istiods),
                len(plan.ztunnels_all),
                len(plan.ztunnels),
                len(plan.cnis_all),
                len(plan.waypoints_all),
            )
            manifest = Manifest(
                command=["ztbundle", *request.argv],
                context=cluster.context,
                options=_options_json(request),
                server_version=plan.server_version,
                istio_namespace=plan.istio_namespace,
            )
            if plan.options.selection is not None:  # what --for/--to narrowed the run to
                manifest.options["selection"] = plan.options.selection.as_json()
            for node in sorted(request.options.nodes - {p.node for p in plan.ztunnels_all if p.node}):
                manifest.errors.append(f"--node {node}: no ztunnel pod runs on that node")
            manifest.errors.extend(preflight.run(pool.get(), plan))  # what RBAC will refuse, said up front
            steps = load_steps()
            if request.confirm is not None:  # the upper bound: every replica asked about every ztunnel
                request.confirm(plan, len(plan_items(plan, steps)))
            out = request.out or Path(layout.default_bundle_name(cluster.context or "cluster", _timestamp()))
            # With --pseudonymize the real-name archive is written beside `out` under a hidden staging
            # name and always deleted: the final path only ever holds the pseudonymized bundle.
            staged = out.with_name(f".{out.name}.unpseudonymized") if request.pseudonymize else out
            writer = BundleWriter(staged, dedupe=request.dedupe, defer_logs=True)
            manifest.format_version = writer.format_version
            routes = istiod_proxy.Routes()
            first, rest = _phases(plan, steps, routes)
            runner = Runner(
                StepContext(plan=plan, clients=pool, forwarder=forwarder),
                writer,
                manifest,
                concurrency=request.concurrency,
                deadline_at=started + request.deadline_s,
                progress=progress,
                observe=lambda item, body: _learn_route(routes, item, body),
            )
            # syncz/connections first: they say which istiod replica to ask about each ztunnel; once
            # they (and the cluster objects before them) have landed, istiod's views join the run.
            routed = sum(1 for step, item in first if (_rank(step, item) or 0) <= 1)
            state = runner.run(first, then=Then(routed, rest))
            # Members of a shared istiod view whose one fetch failed are asked themselves.
            ok = (a.item.path for a in manifest.artifacts if a.status is Status.OK)
            retry = [(istiod_proxy.STEP, i) for i in istiod_proxy.retry_items(routes, ok)]
            if retry:
                state = runner.run(retry)
            manifest.routing = routes.to_json(plan)
        finally:
            forwarder.close()
            pool.close()
        manifest.interrupted = state.interrupted
        manifest.deadline_exceeded = state.deadline_exceeded
        if state.deadline_exceeded:
            manifest.errors.append(f"deadline of {request.deadline_s:g}s exceeded; remaining items skipped")
        if state.interrupted:
            manifest.errors.append("interrupted; remaining items skipped")
        write_logs(writer, manifest, request.max_size)
        LOG.info("writing manifest: %d artifacts", len(manifest.artifacts) + 1)
    _add_tool_log(writer, manifest, toollog.value())
    path = writer.finish(layout.MANIFEST, manifest.render())
    if request.pseudonymize:
        from collector.pseudonymize import rewrite, write_raw

        try:
            rewrite(path, out, write_raw)
        finally:
            path.unlink(missing_ok=True)
        path = out
    return _result(path, manifest, plan, host)


def _add_tool_log(writer: BundleWriter, manifest: Manifest, data: bytes) -> None:
    now = utc_now()
    data, redactions = redact.redact_bytes(layout.TOOL_LOG, data)
    manifest.redactions.extend(redactions)
    writer.add(layout.TOOL_LOG, data)
    manifest.record(
        Artifact(
            tool_log_item(), Status.OK, None, True, len(data), hashlib.sha256(data).hexdigest(), now, now
        )
    )


def _options_json(request: CollectRequest) -> dict[str, Any]:
    o = request.options
    return {
        "kubeconfig": request.kubeconfig,
        "context": request.context,
        "istio_namespace": o.istio_namespace,
        "since_seconds": o.since_s,
        "nodes": sorted(o.nodes),
        "concurrency": request.concurrency,
        "timeout_seconds": o.timeout_s,
        "deadline_seconds": request.deadline_s,
        "max_artifact_bytes": o.max_bytes,
        "max_size_bytes": request.max_size,
        "dedupe": request.dedupe,
        "out": str(request.out) if request.out else None,
    }


def _result(path: Path, manifest: Manifest, plan: Plan, server: str) -> CollectResult:
    count = manifest.tally()
    missing = tuple(Failure(a.item.path, a.status, a.error or a.status.value) for a in manifest.missing())
    skipped = [a for a in manifest.artifacts if a.status is Status.SKIPPED]
    in_flight = sum(1 for a in skipped if (a.error or "").endswith("(request still in flight)"))
    return CollectResult(
        path=path,
        size=path.stat().st_size,
        total=count.total,
        collected=count.collected,
        missing=missing,
        complete=manifest.complete,
        interrupted=manifest.interrupted,
        deadline_exceeded=manifest.deadline_exceeded,
        context=manifest.context,
        istio_namespace=plan.istio_namespace,
        expected=len(count.expected),
        server=server,
        abandoned=in_flight,
        not_started=sum(1 for a in skipped if a.error in ("interrupted", "deadline exceeded")),
    )
