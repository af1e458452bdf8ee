"""A ztunnel gives up waiting for a local pod's workload from xDS and drops its traffic.

When a connection reaches a pod the ztunnel proxies but the pod's workload
has not arrived over xDS, ztunnel waits a few seconds, then fails the
connection. Persistent lines mean istiod is slow or not sending that workload
to this ztunnel (large clusters, a stalled push, a lost xDS stream).

Evidence:
    ztunnel log lines `timed out waiting for workload '<sa>.<ns> (<pod>)' from
    xds` and access-log errors `failed to fetch information about local
    workload: <sa>.<ns> (<pod>)`, grouped per pod named in them, when they
    weigh enough by recency and rate within the capture window (a line's
    weight halves for every 10 min it predates collection): a pod's first
    seconds after scheduling may show one, an hour-old burst is history. The
    finding quotes the newest lines as `<member>:<line>`.

Fix:
    Find why istiod does not send the ztunnel its local pod's workload.
    Offline: `ztbundle logs BUNDLE --ztunnel <ztunnel> --errors` and `ztbundle
    xds BUNDLE --ztunnel <ztunnel> --diff` (ZT401, ZT405 name a drift or a lost
    stream). Live: `istioctl ztunnel-config workloads --node <node>` and istiod's
    push latency (`pilot_proxy_convergence_time`).
"""

import re
from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, ObjectRef
from rules import Hit, Rule, Severity
from rules._logscan import Sighting, find, weigh

RULE = Rule(
    code="ZT605",
    name="local-workload-not-in-xds",
    severity=Severity.ERROR,
    needs=frozenset({Input.ZTUNNEL_LOGS}),
    doc=__doc__,
    grid_columns=frozenset({"pods"}),
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
)

WAITED = "timed out waiting for workload"
FETCH = "failed to fetch information about local workload"
# `<service account>.<namespace> (<pod>)` right after the marker; the namespace has no dots, the
# service account may. Matched at that position on a bounded slice: hostile lines stay linear.
_NAMED = re.compile(r"'?([\w.-]{1,253})\.([a-z0-9-]{1,63}) \(([^)\s]{1,253})\)")
_MARKERS = ("waiting for workload ", "local workload: ")


def _signature(event: LogEvent) -> bool:
    return WAITED in event.message or FETCH in event.fields.get("error", "")


def _pod(s: Sighting) -> ObjectRef | None:
    text = s.event.message if WAITED in s.event.message else s.event.fields.get("error", "")
    for marker in _MARKERS:
        at = text.find(marker)
        if at >= 0:
            m = _NAMED.match(text[at + len(marker) : at + len(marker) + 600])
            return ObjectRef("Pod", m.group(2), m.group(3)) if m else None
    return None


def check(bundle: Bundle) -> Iterator[Hit]:
    groups: dict[ObjectRef, list[Sighting]] = {}
    for s in find(bundle.logs_of(Component.ZTUNNEL), [WAITED, FETCH], _signature):
        ref = _pod(s)
        if ref is not None:
            groups.setdefault(ref, []).append(s)
    for ref, seen in sorted(groups.items(), key=lambda kv: str(kv[0])):
        w = weigh(seen, bundle.now)
        if not w.live():
            continue
        waits = sum(1 for s in seen if WAITED in s.event.message)
        ztunnels = sorted({s.file.pod for s in seen})
        yield Hit(
            subject=ref,
            message=(
                f"ztunnel {', '.join(ztunnels)} had no xDS workload for this pod and failed its "
                f"connections {w.describe()} ({waits} wait timeout(s), {len(seen) - waits} failed "
                f"connection(s))"
                f"; {w.newest}"
            ),
            evidence=w.evidence,
            ztunnel=ztunnels[0] if len(ztunnels) == 1 else None,
        )
