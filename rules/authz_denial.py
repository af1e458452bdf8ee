"""ztunnel denied connections to a workload because of an AuthorizationPolicy.

Often intended, but a common real cause is a policy that forgets the
waypoint's identity once traffic goes through a waypoint, or a principals-only
rule that matches differently than expected.

Evidence:
    ztunnel access-log lines whose `error` is `connection closed due to
    policy rejection: ...` (`allow policies exist, but none allowed` or
    `explicitly denied by: <ns>/<name>`) in the 30 minutes before capture,
    grouped by destination pod (dst.workload, else the pod holding the
    dst.addr IP, else the bare address), with the rejection reasons and source
    identities counted. A source identity whose service account name
    contains `waypoint` is called out. For a destination pod, the
    AuthorizationPolicies ztunnel applies to it (no `targetRefs`; its
    namespace's or the root namespace's, selector matching its labels) are
    named with their action.

Fix:
    Allow the denied source in the policy that rejects it, or remove that policy.
    Offline: `ztbundle logs BUNDLE --workload <pod> --errors` lists each
    denial; `ztbundle ztunnel-config BUNDLE policies` shows what ztunnel
    enforces. Live: `kubectl get authorizationpolicies -n <ns> -o yaml`. If the
    denied source is a waypoint, add its service account to the ALLOW policy's
    principals.
"""

from collections import Counter
from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, ObjectRef
from rules import Hit, Rule, Severity
from rules._logscan import Sighting, find, tally

RULE = Rule(
    code="ZT603",
    name="authz-denial",
    severity=Severity.INFO,
    needs=frozenset({Input.ZTUNNEL_LOGS, Input.PODS, Input.AUTHORIZATION_POLICIES}),
    doc=__doc__,
    next_steps=(
        "ztbundle logs {bundle} --workload {name} --errors",
        "ztbundle ztunnel-config {bundle} policies",
    ),
)

DENIED = "connection closed due to policy rejection"
ROOT_NAMESPACE = "istio-system"  # meshConfig.rootNamespace default: its policies apply mesh-wide


def _denial(event: LogEvent) -> bool:
    return event.target == "access" and DENIED in event.fields.get("error", "")


def _subject(bundle: Bundle, s: Sighting) -> ObjectRef:
    """The destination pod (by name, else by the IP of dst.addr), else the bare address."""
    ns, name = s.field("dst.namespace"), s.field("dst.workload")
    if ns and name:
        return ObjectRef("Pod", ns, name)
    ip = (s.field("dst.addr") or "").rpartition(":")[0].strip("[]")
    pod = bundle.pod_by_ip(ip) if ip else None
    return pod.ref if pod else ObjectRef("Address", "", ip or "unknown")


def _top(counter: Counter[str], limit: int = 3) -> str:
    return ", ".join(f"{k} ×{n}" for k, n in counter.most_common(limit))


def _policies(bundle: Bundle, subject: ObjectRef) -> str:
    """The AuthorizationPolicies ztunnel applies to the destination pod, named with their action."""
    pod = bundle.pod_by_name(subject.namespace, subject.name) if subject.kind == "Pod" else None
    if pod is None:
        return ""
    applied = [
        f"{p.ref.namespace}/{p.ref.name} ({p.action})"
        for p in bundle.authorization_policies
        if p.applies_to(pod.namespace, pod.labels, ROOT_NAMESPACE)
    ]
    return f"; policies applied to it: {', '.join(sorted(applied))}" if applied else ""


def check(bundle: Bundle) -> Iterator[Hit]:
    groups: dict[ObjectRef, list[Sighting]] = {}
    for s in find(bundle.logs_of(Component.ZTUNNEL), [DENIED], _denial):
        groups.setdefault(_subject(bundle, s), []).append(s)
    for subject, seen in sorted(groups.items(), key=lambda kv: str(kv[0])):
        t = tally(seen, bundle.now)
        if not t.live():
            continue  # only old denials: not a live problem (guard: live, not history)
        reasons = Counter((s.field("error") or "").partition(f"{DENIED}: ")[2] or "unspecified" for s in seen)
        sources = Counter(s.field("src.identity") or "no identity (plaintext)" for s in seen)
        waypoint = [src for src in sources if "/sa/" in src and "waypoint" in src.rsplit("/sa/", 1)[1]]
        note = f"; the source {waypoint[0]} is a waypoint identity" if waypoint else ""
        note += _policies(bundle, subject)
        yield Hit(
            subject=subject,
            message=(
                f"connections to {subject} were denied by policy {t.describe()}: "
                f"{_top(reasons)}; sources: {_top(sources)}{note}"
            ),
            evidence=t.paths,
        )
