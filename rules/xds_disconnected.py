"""A ztunnel has no working xDS connection to any istiod replica.

A disconnected ztunnel keeps serving its last state, which goes stale, and it
cannot renew certificates; new pods and policy changes never reach its node.

Evidence:
    The ztunnel pod is Running, not terminating and started before the
    capture window, yet its name is in none of the istiod replicas'
    /debug/syncz or /debug/connections (the union across replicas, judged
    only when every replica's list was collected); or its current log repeats
    `XDS client connection error` (twice or more within the 30 minutes
    before capture) with no `Stream established` after the last error.

Fix:
    Restore the ztunnel's connection to istiod on port 15012.
    Offline: `ztbundle logs BUNDLE --ztunnel <pod> --errors` and `ztbundle
    ztunnel-config BUNDLE all --ztunnel <pod> -o json` (config.xdsAddress).
    Live: `kubectl logs -n istio-system <ztunnel-pod> | grep -E "XDS
    client|Stream established"` and `kubectl get pods -n istio-system -l
    app=istiod`; check DNS from the node and any NetworkPolicy or firewall on 15012.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogFile, Ztunnel
from rules import Explains, Hit, Rule, Scope, Severity
from rules._logscan import find, latest, tally

RULE = Rule(
    code="ZT405",
    name="xds-disconnected",
    severity=Severity.ERROR,
    needs=frozenset({Input.PODS, Input.ISTIOD_SYNCZ, Input.ISTIOD_CONNECTIONS, Input.ZTUNNEL_LOGS}),
    doc=__doc__,
    grid_columns=frozenset({"xds"}),
    explains=(
        Explains.of(Scope.ZTUNNEL, "ZT502", "ZT401", "ZT402", "ZT403", "ZT102", "ZT406"),
        Explains.of(Scope.NODE, "ZT101", "ZT605"),
    ),
    priority=20,
    next_steps=(
        "ztbundle logs {bundle} --ztunnel {ztunnel} --errors",
        "ztbundle xds {bundle} --ztunnel {ztunnel} --diff",
    ),
)

ERROR = "XDS client connection error"
HEALTHY = "Stream established"
MIN_REPEATS = 2  # one error is an ordinary reconnect (`docs/rule-guards.md`, xDS connection)


def _connected(bundle: Bundle) -> tuple[set[str], list[str], list[str]] | None:
    """Attached ztunnel pod names, the replicas, their lists' paths; None if a replica is unknown."""
    names: set[str] = set()
    replicas, paths = [], []
    for istiod in bundle.istiods:
        syncz, conns = istiod.syncz, istiod.connections
        if syncz is None and conns is None:
            return None  # one replica's list missing means absence proves nothing (guard: replicas merged)
        names.update(e.proxy.partition(".")[0] for e in syncz or ())
        names.update(c.proxy.partition(".")[0] for c in conns or ())
        replicas.append(istiod.name)
        paths.append(istiod.syncz_path if syncz is not None else istiod.connections_path)
    return (names, replicas, paths) if replicas else None


def _live(bundle: Bundle, ztunnel: Ztunnel) -> bool:
    pod = ztunnel.pod
    if pod is None or pod.deleting or pod.phase != "Running":
        return False
    return bundle.settled(pod.started_at or pod.created_at)


def _current_logs(bundle: Bundle) -> dict[str, list[LogFile]]:
    """Each ztunnel pod's current logs (not `previous`), in the bundle's order: read once, not once
    per ztunnel (at 1,000 nodes, a million files looked at)."""
    by_pod: dict[str, list[LogFile]] = {}
    for f in bundle.logs_of(Component.ZTUNNEL):
        if not f.previous:
            by_pod.setdefault(f.pod, []).append(f)
    return by_pod


def _log_fact(bundle: Bundle, logs: list[LogFile]) -> tuple[str, tuple[str, ...]] | None:
    errors = list(find(logs, [ERROR]))
    t = tally(errors, bundle.now)
    if not t.live(MIN_REPEATS) or t.last is None:
        return None
    last = t.last
    if any(s.time and s.time >= last for s in find(logs, [HEALTHY])):
        return None  # reconnected after the last error (MAX_CONNECTION_AGE rebalancing)
    text = (latest(errors) or errors[-1]).event.message.split("\n")[0][:200]
    return f"logged {ERROR!r} {t.describe()}, none followed by {HEALTHY!r}: {text}", t.paths


def check(bundle: Bundle) -> Iterator[Hit]:
    attached = _connected(bundle)
    current: dict[str, list[LogFile]] | None = None  # asked for at the first live ztunnel, as before
    for ztunnel in bundle.ztunnels:
        if not _live(bundle, ztunnel):
            continue  # terminating, not running, or still starting (guards: settle window, current ztunnel)
        facts: list[str] = []
        evidence: list[str] = []
        if attached is not None and ztunnel.name not in attached[0]:
            _, replicas, paths = attached
            listed = ", ".join(replicas)
            facts.append(f"is in none of the {len(replicas)} istiod replica(s)' syncz/connections ({listed})")
            evidence.extend(paths)
        if current is None:
            current = _current_logs(bundle)
        logged = _log_fact(bundle, current.get(ztunnel.name, []))
        if logged:
            facts.append(logged[0])
            evidence.extend(logged[1])
        if facts:
            yield Hit.on(ztunnel, f"{ztunnel.ref} " + "; ".join(facts), evidence=tuple(evidence))
