"""Run every planned item with bounded concurrency, per-request timeouts, a global deadline and Ctrl-C.

Workers only fetch; this module's calling thread is the single writer: it hands each finished body to
the archive and records its artifact. A window of at most concurrency+4 submitted items bounds memory
regardless of cluster size. Failure is data: every item ends as exactly one manifest artifact.
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace

from collector import judge, members, redact, redact_text, transport
from collector.archive import BundleWriter
from collector.body import Body
from collector.context import MergedList, StepContext
from collector.failures import Trim, Truncated, classify
from collector.manifest import Artifact, Manifest, utc_now
from collector.runcache import RunCache
from collector.schedule import Queue
from collector.steps import Item, Step
from ztbundle.layout import Status

LOG = logging.getLogger("ztbundle.runner")
TICK_S = 0.25


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """A snapshot for the progress display; emitted after each item and on a short tick."""

    done: int
    total: int
    failed: int
    slowest: str | None
    slowest_s: float
    last: Artifact | None


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True, slots=True)
class Then:
    """More of the same run: once the first `landed` planned items have landed, `plan()` says what."""

    landed: int
    plan: Callable[[], list[tuple[Step, Item]]]


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a worker hands back: the body (if any) and its verdict, computed off the writer thread."""

    body: Body | None
    status: Status
    error: str | None
    sha256: str | None
    version: str | None
    started_at: str
    finished_at: str
    trim: Trim | None = None
    redactions: tuple[redact_text.Redaction, ...] = ()
    transport: str | None = None  # the port-forward transport that carried it


@dataclass(slots=True)
class RunState:
    interrupted: bool = False
    deadline_exceeded: bool = False


def fetch_one(
    ctx: StepContext, step: Step, item: Item, running: dict[str, float], cache: RunCache
) -> Fetched:
    """Worker body: fetch, then judge the bytes. Never raises; every outcome is a `Fetched`."""
    running[item.path] = time.monotonic()
    started = utc_now()
    body: Body | None
    trim: Trim | None = None
    transport.reset()
    try:
        body = step.fetch(ctx, item)
        status, error = Status.OK, None
    except Truncated as exc:
        body, status, error, trim = exc.body, Status.TRUNCATED, exc.message, exc.trim
    except Exception as exc:  # noqa: BLE001 - the runner owns failure; classify names the cause
        failed = classify(exc, item.action, ctx.timeout_s)
        body, status, error = failed.body, failed.status, failed.message
    finally:
        running.pop(item.path, None)
    served = transport.served_by()
    version = None
    version_of = functools.partial(step.version_of, item) if step.version_of else None
    if isinstance(body, MergedList):  # written and redacted page by page: nothing left to check
        return Fetched(
            body=body,
            status=status,
            error=redact_text.mask(error),
            sha256=body.sha256,
            version=None,
            started_at=started,
            finished_at=utc_now(),
            trim=trim,
            redactions=redact.records(item.path, body.redacted),
            transport=served,
        )
    if body is not None and item.expect_json:
        # Judged and redacted from one read of the bytes, under one hold of the parse lock (one big
        # parse at a time; also the only time a spooled body is in memory). A body in memory is
        # joined before, and every body is hashed after: neither needs the lock, and a hash lets go
        # of the GIL, which under the lock made every other worker wait for it to come back.
        if body.in_memory:
            body.read_bytes()
        with cache.parse_lock:
            read = members.Read(body.read_bytes(), cache.known)
            if status is Status.OK:
                problem, version = judge.judge_read(read, body, version_of, item.input, cache)
                if problem is not None:
                    status, error = Status.TRUNCATED, problem
            # Secrets never reach the writer: redacted here, so sha256 and size describe what is stored.
            received = body
            body, redactions, error = redact.apply(
                item.path, body, error, is_json=True, cache=cache, read=read
            )
            data = read.data
            if body is received and read.split is not None:  # the writer cuts it where its members start
                body.layout = read.layout()
            del read
        if body is received:  # stored as received: hashed from the bytes in hand, not read again
            body.sha256_from(data)
        del data
    else:
        if status is Status.OK and body is not None and version_of:
            version = judge.version_in(version_of, body.read_bytes())
        body, redactions, error = redact.apply(item.path, body, error, is_json=item.expect_json, cache=cache)
    return Fetched(
        body=body,
        status=status,
        error=error,
        sha256=body.sha256 if body is not None else None,
        version=version,
        started_at=started,
        finished_at=utc_now(),
        trim=trim,
        redactions=redactions,
        transport=served,
    )


def skipped(item: Item, reason: str) -> Artifact:
    return Artifact(item, Status.SKIPPED, reason, False, 0, None, None, None)


@contextmanager
def _sigint_as_flag(stop: threading.Event) -> Iterator[None]:
    """Turn the first Ctrl-C into a flag so it never lands in the middle of a tar write."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C means "now"
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Runner:
    """Schedules items, writes results as they land, and turns the leftovers into skipped artifacts."""

    def __init__(
        self,
        ctx: StepContext,
        writer: BundleWriter,
        manifest: Manifest,
        *,
        concurrency: int,
        deadline_at: float,
        progress: ProgressCallback | None,
        cache: RunCache | None = None,
        observe: Callable[[Item, Body], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.cache = cache or RunCache()  # this run's memos and parse lock
        self.observe = observe  # sees each ok body before it is written (istiod routing reads syncz)
        self.writer = writer
        self.manifest = manifest
        self.concurrency = max(1, concurrency)
        # A few more than the workers, so none idles while this thread writes; finished bodies
        # waiting for the writer stay few, which keeps memory flat.
        self.window = self.concurrency + 4
        self.deadline_at = deadline_at
        self.progress = progress
        self.state = RunState()
        self._running: dict[str, float] = {}
        self._done = 0
        self._failed = 0
        self._total = 0

    def run(self, planned: list[tuple[Step, Item]], then: Then | None = None) -> RunState:
        """Run `planned`; called again, it continues the same run (a stopped run skips the rest).

        `then`: items planned once the first of these have landed, run in the same run, a heavy one as
        soon as the heavy items before it are out (istiod's views, planned from the routing).
        """
        self._total += len(planned)
        if self.state.interrupted or self.state.deadline_exceeded:
            reason = "interrupted" if self.state.interrupted else "deadline exceeded"
            for _, item in [*planned, *(then.plan() if then else ())]:
                self.manifest.record(skipped(item, reason))
            return self.state
        stop = threading.Event()
        executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="ztbundle")
        in_flight: dict[Future[Fetched], tuple[Step, Item]] = {}
        queue = Queue(planned, heavy_slots=max(1, self.concurrency // 2))
        try:
            with _sigint_as_flag(stop):
                self._emit(None)
                while queue or in_flight or then:
                    if stop.is_set():
                        raise KeyboardInterrupt
                    if then and queue.landed_before(then.landed):
                        more, then = then.plan(), None
                        self._total += len(more)
                        queue.extend(more)
                    while len(in_flight) < self.window and (taken := queue.take()):
                        step, item = taken
                        future = executor.submit(fetch_one, self.ctx, step, item, self._running, self.cache)
                        in_flight[future] = taken
                    remaining = self.deadline_at - time.monotonic()
                    if remaining <= 0:
                        self.state.deadline_exceeded = True
                        LOG.warning("deadline exceeded with %d items left", len(planned) - self._done)
                        break
                    done, _ = wait(in_flight, timeout=min(TICK_S, remaining), return_when=FIRST_COMPLETED)
                    for future in done:
                        step, item = in_flight.pop(future)
                        result = future.result()
                        queue.landed(step, item, result.body.size if result.body is not None else 0)
                        self._land(item, result)
                    if not done:
                        self._emit(None)
        except KeyboardInterrupt:
            self.state.interrupted = True
            LOG.warning("interrupted with %d items left", len(planned) - self._done)
        finally:
            progress, self.progress = self.progress, None  # a callback that raised must not run again
            reason = "interrupted" if self.state.interrupted else "deadline exceeded"
            for future, (_, item) in list(in_flight.items()):
                if future.done() and not future.cancelled():
                    self._land(item, future.result())
                else:
                    self.manifest.record(skipped(item, f"{reason} (request still in flight)"))
            for _, item in [*queue.remaining(), *(then.plan() if then else ())]:
                self.manifest.record(skipped(item, reason))
            # Hung workers are abandoned, not awaited: each is bounded by its own request timeout.
            executor.shutdown(wait=False, cancel_futures=True)
        if not (self.state.interrupted or self.state.deadline_exceeded):
            self.progress = progress  # the run goes on (`run` called again)
        return self.state

    def _land(self, item: Item, result: Fetched) -> None:
        stored = result.body is not None
        pieces = None
        if self.observe is not None and result.body is not None and result.status is Status.OK:
            self.observe(item, result.body)
        shared: list[Artifact] = []
        if result.body is not None:
            try:
                pieces = self.writer.put(item.path, result.body, item.input)  # raw, recipe or deferred log
                if result.status is Status.OK:
                    shared = [self._share(item, other, result, pieces) for other in item.shared_with]
            finally:
                result.body.close()
        artifact = Artifact(
            item=item,
            status=result.status,
            error=result.error,
            stored=stored,
            bytes=result.body.size if result.body is not None else 0,
            sha256=result.sha256,
            started_at=result.started_at,
            finished_at=result.finished_at,
            trim=result.trim,
            pieces=pieces,
            transport=result.transport,
        )
        self.manifest.redactions.extend(result.redactions)
        self.manifest.record(artifact)
        for copy in shared:
            self.manifest.redactions.extend(replace(r, artifact=copy.item.path) for r in result.redactions)
            self.manifest.record(copy)
        if result.version:
            self.manifest.istio_versions.add(result.version)
        self._done += 1
        if result.status is not Status.OK:
            self._failed += 1
            LOG.warning("%s: %s: %s", item.path, result.status.value, result.error)
        else:
            LOG.info("%s: ok (%d bytes)", item.path, artifact.bytes)
        self._emit(artifact)

    def _share(self, item: Item, other: Item, result: Fetched, pieces: tuple[str, ...] | None) -> Artifact:
        """`other`'s artifact: the same body under its own path (a recipe costs no bytes), not fetched."""
        assert result.body is not None
        if pieces is None:  # a raw member (format 1): written again under the other path
            self.writer.put(other.path, result.body, other.input)
        return Artifact(
            item=other,
            status=result.status,
            error=result.error,
            stored=True,
            bytes=result.body.size,
            sha256=result.sha256,
            started_at=result.started_at,
            finished_at=result.finished_at,
            pieces=pieces,
            transport=result.transport,
            shared_from=item.path,
        )

    def _emit(self, last: Artifact | None) -> None:
        if self.progress is None:
            return
        running = self._running.copy()
        slowest, slowest_s = None, 0.0
        if running:
            path, since = min(running.items(), key=lambda kv: kv[1])
            slowest, slowest_s = path, time.monotonic() - since
        self.progress(ProgressEvent(self._done, self._total, self._failed, slowest, slowest_s, last))
