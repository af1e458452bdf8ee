"""istiod's CA refuses the certificates a ztunnel requests on behalf of its pods.

ztunnel asks istiod for each local pod's certificate while authenticated as
itself (impersonation). istiod signs only for callers whose
`<namespace>/<service account>` is in `CA_TRUSTED_NODE_ACCOUNTS` (set from the
istiod chart's `trustedZtunnelNamespace` / `trustedZtunnelName`) and whose pod
it sees on the same node as the requested identity. When it refuses, the pods
on that node get no certificate and their HBONE connections fail.

Evidence:
    istiod log lines of the CA (scope `serverca`): `impersonation failed for
    identity <id>, error: caller (Pod{Name: <ztunnel>, Namespace: <ns>, ...,
    ServiceAccount: <sa>}) is not allowed to impersonate` (or `pod ... not
    found`, `... does not match`), and `impersonation not allowed, as node
    authorizer (CA_TRUSTED_NODE_ACCOUNTS) is not configured`. One finding per
    refused ztunnel (per istiod replica when the line names no caller), when
    the lines weigh enough by recency and rate within the capture window (a
    line's weight halves for every 10 min it predates collection): a single
    refusal an hour old, such as a `UID does not match` race during a ztunnel
    restart, stays quiet. The finding quotes the newest lines as
    `<member>:<line>`.

Fix:
    Let istiod trust the ztunnel's service account to request certificates for pods.
    Offline: `ztbundle extract BUNDLE out/` then `grep -n impersonat
    out/istiod/*/logs/discovery*.log`. When the caller's service account is not
    the one istiod trusts, set `trustedZtunnelNamespace` and `trustedZtunnelName`
    on the istiod chart (or `CA_TRUSTED_NODE_ACCOUNTS=<ns>/<sa>`) to the
    ztunnel's. Live: `kubectl -n istio-system get deploy istiod -o yaml | grep -A1
    CA_TRUSTED_NODE_ACCOUNTS`.
"""

import re
from collections.abc import Iterator

from analyzer.model import Bundle, Component, Input, LogEvent, ObjectRef
from rules import Explains, Hit, Rule, Scope, Severity
from rules._logscan import Sighting, find, weigh

RULE = Rule(
    code="ZT207",
    name="ca-refuses-ztunnel",
    severity=Severity.ERROR,
    needs=frozenset({Input.ISTIOD_LOGS}),
    doc=__doc__,
    grid_columns=frozenset({"certificates"}),
    explains=(Explains.of(Scope.ZTUNNEL, "ZT201", "ZT202", "ZT203", "ZT205"),),
    priority=15,
    next_steps=("ztbundle ztunnel-config {bundle} certificates --ztunnel {ztunnel}",),
)

FAILED = "impersonation failed for identity"
NOT_CONFIGURED = "impersonation not allowed"
# Anchored where `caller (` ends and bounded, so a hostile multi-megabyte line costs one linear scan.
_CALLER = re.compile(
    r"Pod\{Name: ([^,}]{1,253}), Namespace: ([^,}]{1,63}),[^}]{0,200}?ServiceAccount: ([^,}]{0,253})\}"
)
_IDENTITY = re.compile(r"impersonation failed for identity (\S+?),? error: (.*)$")


def _refusal(event: LogEvent) -> bool:
    return event.message.startswith((FAILED, NOT_CONFIGURED))


def _group(s: Sighting) -> tuple[ObjectRef, str | None]:
    """The refused ztunnel (and its service account) named by the caller, else the istiod replica."""
    at = s.event.message.find("caller (")
    m = _CALLER.match(s.event.message, at + len("caller (")) if at >= 0 else None
    if m:
        name, ns, sa = (g.strip() for g in m.groups())
        return ObjectRef("Ztunnel", ns, name), f"{ns}/{sa}" if sa else None
    return ObjectRef("Istiod", s.file.namespace or "istio-system", s.file.pod), None


def _reason(s: Sighting) -> str:
    m = _IDENTITY.search(s.event.message)
    if not m:
        return "node authorizer (CA_TRUSTED_NODE_ACCOUNTS) not configured"
    reason = m.group(2)
    return "is not allowed to impersonate" if "not allowed to impersonate" in reason else reason


def check(bundle: Bundle) -> Iterator[Hit]:
    groups: dict[ObjectRef, list[Sighting]] = {}
    accounts: dict[ObjectRef, str] = {}
    for s in find(bundle.logs_of(Component.ISTIOD), [FAILED, NOT_CONFIGURED], _refusal):
        ref, account = _group(s)
        groups.setdefault(ref, []).append(s)
        if account:
            accounts[ref] = account
    for ref, seen in sorted(groups.items(), key=lambda kv: str(kv[0])):
        w = weigh(seen, bundle.now)
        if not w.live():
            continue  # old or one-off refusals: not what fails now
        identities = sorted({m.group(1) for s in seen if (m := _IDENTITY.search(s.event.message))})
        reasons = sorted({_reason(s) for s in seen})
        replicas = ", ".join(sorted({s.file.pod for s in seen}))
        who = f"caller service account {accounts[ref]}, " if ref in accounts else ""
        many = f"{len(identities)} identities (e.g. {identities[0]})" if len(identities) > 1 else ""
        asked = f" for {many or identities[0]}" if identities else ""
        yield Hit(
            subject=ref,
            message=(
                f"istiod {replicas} refused certificate requests{asked} {w.describe()}: "
                f"{who}{'; '.join(reasons)}"
                f"; {w.newest}"
            ),
            evidence=w.evidence,
            ztunnel=ref.name if ref.kind == "Ztunnel" else None,
        )
