"""istiod's CA_TRUSTED_NODE_ACCOUNTS does not name the running ztunnels' service account.

ztunnel requests each local pod's certificate while authenticated as itself;
istiod signs only for callers whose `<namespace>/<service account>` is listed
in its `CA_TRUSTED_NODE_ACCOUNTS` env (istio/istio#56550, #55488). istiod's
built-in default is empty (no caller trusted); Istio's istiod chart sets it
from `pilot.trustedZtunnelNamespace`/`trustedZtunnelName` (1.24 and later;
earlier charts from `pilot.env`), usually `istio-system/ztunnel`, so a
ztunnel installed in another namespace or under another name is refused.

Evidence:
    The istiod Deployment's discovery container env (istio/deployments.json)
    and the `serviceAccountName` of the ztunnel pods (cluster pod list): an
    account not in the comma-separated list. An env set from a ConfigMap or
    field is not judged. istiod's `impersonation failed` log lines (ZT207)
    and the certificates ztunnel could not get (ZT202) are grouped under it.

Fix:
    Add the ztunnel's namespace/serviceaccount to istiod's CA_TRUSTED_NODE_ACCOUNTS.
    Offline: `ztbundle extract BUNDLE out/` and read `out/istio/deployments.json`.
    Live: set `pilot.trustedZtunnelNamespace` (and `trustedZtunnelName`) on the
    istiod chart, or `kubectl -n istio-system set env deploy/istiod
    CA_TRUSTED_NODE_ACCOUNTS=<ns>/<sa>`.
"""

from collections.abc import Iterator

from analyzer.model import Bundle, Input
from rules import Explains, Hit, Rule, Scope, Severity

RULE = Rule(
    code="ZT707",
    name="ca-trusted-node-accounts",
    severity=Severity.ERROR,
    needs=frozenset({Input.ISTIO_DEPLOYMENTS, Input.PODS}),
    doc=__doc__,
    explains=(Explains.of(Scope.MESH, "ZT202", "ZT207"),),
    priority=20,
    next_steps=("ztbundle extract {bundle} out/",),
)

ENV = "CA_TRUSTED_NODE_ACCOUNTS"


def check(bundle: Bundle) -> Iterator[Hit]:
    accounts = sorted(
        {
            f"{p.namespace}/{p.service_account}"
            for p in bundle.pods
            if p.labels.get("app") == "ztunnel" and not p.terminal and p.service_account
        }
    )
    if not accounts:
        return
    for deployment in bundle.istiod_deployments:
        value = deployment.env.get(ENV, "")
        if value is None:
            continue  # from a ConfigMap or field: not in the bundle
        trusted = {a.strip() for a in value.split(",") if a.strip()}
        missing = [a for a in accounts if a not in trusted]
        if not missing:
            continue
        shown = (
            f"{ENV}={value!r}" if ENV in deployment.env else f"{ENV} unset (istiod's default: none trusted)"
        )
        yield Hit(
            subject=deployment.ref,
            message=f"{deployment.ref} has {shown}; ztunnel pods run as {', '.join(missing)}",
            evidence=(deployment.path, bundle.list_path(Input.PODS)),
        )
