"""Access-log records and L4 counters for one source → destination pair, and the :15008 failures."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from analyzer.model import AccessRecord, Bundle, Component, Input, LogFile, ObjectRef, Pod, Ztunnel
from analyzer.parse.metrics import parse_metrics
from analyzer.trace.path import Path
from analyzer.trace.types import Check, Evidence, Hop, HopKey, Verdict, hop
from ztbundle import layout

OK, BROKEN, DEGRADED, UNKNOWN = Verdict.OK, Verdict.BROKEN, Verdict.DEGRADED, Verdict.UNKNOWN
HBONE_PORT = "15008"
REFUSED = "connection refused"
TIMED_OUT = "timed out"


@dataclass(frozen=True, slots=True)
class Record:
    """An access record and where it was logged."""

    log: LogFile
    record: AccessRecord

    @property
    def evidence(self) -> Evidence:
        return Evidence(self.log.path, self.record.line or None)


def _ip(addr: str | None) -> str | None:
    if not addr:
        return None
    host, sep, _ = addr.rpartition(":")
    return host.strip("[]") if sep else addr


def _port(addr: str | None) -> str | None:
    return addr.rpartition(":")[2] if addr and ":" in addr else None


def logs_of(bundle: Bundle, ztunnels: Sequence[Ztunnel]) -> list[LogFile]:
    """Current and previous logs of these ztunnel pods."""
    names = {z.name for z in ztunnels}
    return [f for f in bundle.logs_of(Component.ZTUNNEL) if f.pod in names]


def pair_records(bundle: Bundle, path: Path, ztunnels: Sequence[Ztunnel]) -> list[Record]:
    """Records of this source to the target's destinations in these ztunnels' logs, errors first."""
    src_ip = path.source.ip
    dst_ips = {ip for p in path.destinations for ip in (p.ips or ((p.ip,) if p.ip else ()))}
    if path.target.ip:
        dst_ips.add(path.target.ip)
    host = path.target.hostname
    out = []
    for log in logs_of(bundle, ztunnels):
        for r in log.access_records():
            if _ip(r.src_addr) != src_ip:
                continue
            dst = {_ip(r.dst_addr), _ip(r.dst_hbone_addr)}
            if dst & dst_ips or (host and r.dst_service == host):
                out.append(Record(log, r))
    out.sort(key=lambda x: (x.record.error is None, x.log.path, x.record.line))
    return out


def hbone_failures(bundle: Bundle, pod: Pod) -> list[Record]:
    """Records, in any ztunnel's log, of connections to `pod`'s :15008 refused or timed out."""
    ips = set(pod.ips or ((pod.ip,) if pod.ip else ()))
    out = []
    for log in bundle.logs_of(Component.ZTUNNEL):
        for r in log.access_records():
            if not r.error or _ip(r.dst_addr) not in ips or _port(r.dst_addr) != HBONE_PORT:
                continue
            text = r.error.lower()
            if REFUSED in text or TIMED_OUT in text:
                out.append(Record(log, r))
    return out


def observed(
    bundle: Bundle, path: Path, ztunnels: Sequence[Ztunnel], metrics: Mapping[str, str] | None
) -> Hop:
    """Hop 7: both ztunnels' access-log records for this pair, errors first, and the istio_tcp_* counters."""
    return hop(HopKey.OBSERVED_TRAFFIC, _checks(bundle, path, ztunnels, metrics))


def _checks(
    bundle: Bundle, path: Path, ztunnels: Sequence[Ztunnel], metrics: Mapping[str, str] | None
) -> Iterator[Check]:
    logs = bundle.availability(Input.ZTUNNEL_LOGS)
    if not logs_of(bundle, ztunnels):
        reason = logs.reason if not logs.ok else "none of the path's ztunnels has a log in the bundle"
        yield Check(UNKNOWN, f"ztunnel logs not collected: {reason}")
    else:
        records = pair_records(bundle, path, ztunnels)
        errors = [r for r in records if r.record.error]
        if not records:
            yield Check(
                OK,
                "no access-log record for this pair in the path's ztunnel logs",
                tuple(Evidence(f.path) for f in logs_of(bundle, ztunnels)),
            )
        for r in errors[:5]:
            rec = r.record
            verdict = BROKEN if len(errors) == len(records) else DEGRADED
            yield Check(
                verdict,
                f"{r.log.pod}: {rec.direction or '?'} {rec.src_addr} → {rec.dst_addr}: {rec.error}",
                (r.evidence,),
            )
        fine = len(records) - len(errors)
        if fine:
            first = next(r for r in records if not r.record.error)
            yield Check(OK, f"{fine} record(s) without error ({len(errors)} with)", (first.evidence,))
    yield _counters(bundle, path, ztunnels, metrics)


def _counters(
    bundle: Bundle, path: Path, ztunnels: Sequence[Ztunnel], metrics: Mapping[str, str] | None
) -> Check:
    texts = {z.name: (metrics or {}).get(z.name) for z in ztunnels}
    have = {name: text for name, text in texts.items() if text is not None}
    if not have:
        why = bundle.availability(Input.ZTUNNEL_METRICS).reason or "not in the bundle"
        return Check(
            UNKNOWN, f"istio_tcp_* counters: ztunnel metrics not collected: {why}", supplementary=True
        )
    w = path.source_workload
    src = (w.namespace, w.workload_name) if w and w.workload_name else _workload(path.source.ref)
    dst = {_workload(p.ref) for p in path.destinations}
    total: dict[str, float] = {}
    for text in have.values():
        for s in parse_metrics(text).samples:
            if not s.name.startswith("istio_tcp_"):
                continue
            labels = dict(s.labels)
            if (labels.get("source_workload_namespace"), labels.get("source_workload")) != src:
                continue
            dst_names = {
                (labels.get("destination_workload_namespace"), labels.get("destination_workload")),
            }
            host = labels.get("destination_service")
            if not (dst & dst_names) and host != path.target.hostname:
                continue
            total[s.name] = total.get(s.name, 0.0) + s.value
    ev = tuple(Evidence(layout.ztunnel_metrics(name)) for name in have)
    if not total:
        return Check(OK, "istio_tcp_* counters: none for this pair", ev, supplementary=True)
    shown = ", ".join(f"{k.removeprefix('istio_tcp_')}={v:g}" for k, v in sorted(total.items()))
    return Check(OK, f"istio_tcp_* counters for this pair: {shown}", ev, supplementary=True)


def _workload(ref: ObjectRef) -> tuple[str, str]:
    """A pod's workload name as metrics label it: the pod name without its two generated suffixes."""
    ns, name = ref.namespace, ref.name
    parts = name.split("-")
    return (ns, "-".join(parts[:-2])) if len(parts) > 2 else (ns, name)
