"""istiod's log shows its xDS pushes to a ztunnel failing: rejected, timed out or not sent.

istiod streams workloads (WDS) and authorization policies (WADS) to every
ztunnel. When the ztunnel rejects a push (NACK, logged by istiod as `ACK
ERROR`), or istiod cannot write to the stream in time, that ztunnel keeps
stale state: new pods, endpoints and policies do not reach its node.

Evidence:
    istiod log lines (scope `delta`) for a ztunnel connection
    (`<pod>.<ns>-<n>` or `node:<pod>.<ns>`) on the WDS or WADS types (the ones
    ztunnel requests): `ADS:WDS: ACK ERROR <connection> <code>:<message>`,
    `Timeout writing <connection>: WDS` and `WDS: Send failure for
    node:<proxy> ...`. One finding per ztunnel, when the lines weigh enough by
    recency and rate within the capture window (a line's weight halves for
    every 10 min it predates collection). The finding quotes the newest lines
    as `<member>:<line>`.

Fix:
    Find why the ztunnel rejects or stalls istiod's pushes (NACK, overload, stall).
    Offline: `ztbundle xds BUNDLE --ztunnel <ztunnel> --diff`; a NACK's reason is
    in the ztunnel's own log too (ZT404). Send timeouts point at an overloaded
    istiod or a stalled ztunnel (ZT501/ZT502). Live: `kubectl -n istio-system
    logs -l app=istiod | grep -E "ACK ERROR|Timeout writing|Send failure"`.
"""

import re
from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, ObjectRef
from rules import Hit, Rule, Severity
from rules._logscan import Sighting, find, weigh

RULE = Rule(
    code="ZT406",
    name="istiod-xds-push-errors",
    severity=Severity.WARNING,
    needs=frozenset({Input.ISTIOD_LOGS}),
    doc=__doc__,
    grid_columns=frozenset({"xds"}),
    next_steps=("ztbundle xds {bundle} --ztunnel {ztunnel} --diff",),
)

_ACK = re.compile(r"^ADS:(WDS|WADS): ACK ERROR (\S+) (.*)$")
_TIMEOUT = re.compile(r"^Timeout writing (\S+): (WDS|WADS)$")
_SEND = re.compile(r"^(WDS|WADS): Send failure for node:(\S+) .*$")
NEEDLES = ("ACK ERROR", "Timeout writing", "Send failure for node:")


def _match(event: LogEvent) -> tuple[str, str, str] | None:
    """(kind, ztunnel `<pod>.<ns>` proxy id, detail) of a push-error line about a ztunnel."""
    if m := _ACK.match(event.message):
        return "ACK ERROR", m.group(2).rsplit("-", 1)[0], m.group(3)
    if m := _TIMEOUT.match(event.message):
        return "send timeout", m.group(1).rsplit("-", 1)[0], ""
    if m := _SEND.match(event.message):
        return "send failure", m.group(2), event.message.rpartition(": ")[2]
    return None


def _wanted(event: LogEvent) -> bool:
    return _match(event) is not None


def check(bundle: Bundle) -> Iterator[Hit]:
    groups: dict[ObjectRef, list[tuple[Sighting, str, str]]] = {}
    for s in find(bundle.logs_of(Component.ISTIOD), NEEDLES, _wanted):
        kind, proxy, detail = _match(s.event) or ("", "", "")
        pod, _, ns = proxy.partition(".")
        if not pod or not ns:
            continue
        groups.setdefault(ObjectRef("Ztunnel", ns, pod), []).append((s, kind, detail))
    for ref, seen in sorted(groups.items(), key=lambda kv: str(kv[0])):
        w = weigh((s for s, _, _ in seen), bundle.now)
        if not w.live():
            continue
        kinds = {k: sum(1 for _, kind, _ in seen if kind == k) for k in dict.fromkeys(k for _, k, _ in seen)}
        details = [d for _, k, d in seen if k == "ACK ERROR" and d]
        nack = f"; last rejection: {details[-1][:120]}" if details else ""
        replicas = ", ".join(sorted({s.file.pod for s, _, _ in seen}))
        yield Hit(
            subject=ref,
            message=(
                f"istiod {replicas} logged failing xDS pushes to this ztunnel {w.describe()} ("
                + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
                + f"){nack}"
                f"; {w.newest}"
            ),
            evidence=w.evidence,
            ztunnel=ref.name,
        )
