"""Content for the security tests: hostile text for the report, and secrets for the redaction pass.

`with_hostile_text(scn)` puts script/attribute/URL injections and a bidi override wherever a
cluster's own users control text that reaches a bundle: a pod's labels, annotations and image,
a namespace label, workload and canonical names in ztunnel's dump (a stale workload),
AuthorizationPolicy principals, the mesh root certificate's subject, a DNS hostname in ztunnel's
log and istiod log lines. Pod, namespace and service-account names stay valid DNS labels, as the
real API server demands (labels could not hold this text in a real cluster, but a crafted bundle
can, so they carry it too).

`with_planted_secrets(scn)` hides credentials where real ones hide: ztunnel `config.xdsHeaders`
and `config.caHeaders`, a pod's env values and its `last-applied-configuration` annotation, and
log lines (a bearer token, a JWT, a PEM private key, an AWS key pair). The values are listed in
`Scenario.planted_secrets`, so a test can assert that none of them survives into a bundle.
Every value is derived from names: the same on every run, and unlike any real credential.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.fakecluster.scenario import (
    LogEvent,
    Namespace,
    Policy,
    Role,
    Scenario,
    StaleWorkload,
    add_pod,
    app_pod,
)

SCRIPT = "<script>alert(1)</script>"
ATTR_BREAK = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
BIDI = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: renders "invoice-\u202efdp.exe" as "invoice-exe.pdf"
BIDI_TEXT = f"invoice-{BIDI}fdp.exe"
HOSTILE_STRINGS = (SCRIPT, ATTR_BREAK, JS_URL, BIDI)


# --- credential-shaped values ----------------------------------------------------------------------


def _digest(*seed: str, size: int = 32) -> bytes:
    out, counter = b"", 0
    while len(out) < size:
        out += hashlib.sha256("/".join(("fakecluster-secret", str(counter), *seed)).encode()).digest()
        counter += 1
    return out[:size]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _alnum(seed: str, length: int, alphabet: str) -> str:
    return "".join(alphabet[b % len(alphabet)] for b in _digest(seed, size=length))


def fake_jwt(subject: str, audience: str = "istio-ca") -> str:
    """An RS256-shaped Kubernetes service-account token (header.claims.signature, base64url)."""
    header = {"alg": "RS256", "kid": _b64url(_digest("kid", subject))[:43]}
    claims = {
        "aud": [audience],
        "exp": 1893456000,
        "iat": 1700000000,
        "iss": "https://kubernetes.default.svc.cluster.local",
        "kubernetes.io": {
            "namespace": subject.split(":")[2],
            "serviceaccount": {"name": subject.split(":")[3]},
        },
        "sub": subject,
    }
    parts = (json.dumps(header, separators=(",", ":")), json.dumps(claims, separators=(",", ":")))
    return ".".join(_b64url(p.encode()) for p in parts) + "." + _b64url(_digest("sig", subject, size=256))


def _pem_private_key() -> tuple[str, str]:
    """A PKCS#8 Ed25519 key as PEM, and its one-line base64 body."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(_digest("leaked-key"))
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem.strip(), pem.splitlines()[1]


UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

XDS_TOKEN = fake_jwt("system:serviceaccount:istio-system:ztunnel")
CA_TOKEN = fake_jwt("system:serviceaccount:istio-system:ztunnel", audience="ca-headers")
LOG_JWT = fake_jwt("system:serviceaccount:default:notes")
LOG_BEARER = _b64url(_digest("opaque-bearer"))
PEM_KEY, PEM_BODY = _pem_private_key()
AWS_KEY_ID = "AKIA" + _alnum("aws-key-id", 16, UPPER_DIGITS)
AWS_SECRET = _alnum("aws-secret", 40, ALNUM + "+/")
DB_PASSWORD = "pw-" + _alnum("db-password", 20, ALNUM)
API_TOKEN = "tok-" + _alnum("api-token", 32, ALNUM)
GITHUB_TOKEN = "ghp_" + _alnum("github-token", 36, ALNUM)
LAST_APPLIED_PASSWORD = "pw-" + _alnum("last-applied-password", 20, ALNUM)
SESSION_COOKIE = "sid-" + _alnum("session-cookie", 24, ALNUM)

PLANTED = {
    "ztunnel config.xdsHeaders": XDS_TOKEN,
    "ztunnel config.caHeaders": CA_TOKEN,
    "pod env DB_PASSWORD": DB_PASSWORD,
    "pod env API_TOKEN": API_TOKEN,
    "pod env GITHUB_TOKEN": GITHUB_TOKEN,
    "pod annotation last-applied-configuration": LAST_APPLIED_PASSWORD,
    "ztunnel log bearer token": LOG_BEARER,
    "istiod log JWT": LOG_JWT,
    "ztunnel log PEM private key (body)": PEM_BODY,
    "istiod log AWS access key id": AWS_KEY_ID,
    "istio-cni log AWS secret access key": AWS_SECRET,
    "ztunnel log cookie header pair (its log's only secret)": SESSION_COOKIE,
}


# --- scenario transforms ---------------------------------------------------------------------------


def _app_namespace(scn: Scenario) -> str:
    return next((n.name for n in scn.namespaces if n.ambient), scn.namespaces[0].name)


def _app_node(scn: Scenario) -> str:
    return next((p.node for p in scn.pods if p.role is Role.ZTUNNEL and p.node), scn.nodes[0].name)


def _with_ztunnel(scn: Scenario, node: str, **changes: object) -> Scenario:
    zo = scn.ztunnel_override(node)
    merged = {k: (getattr(zo, k) + v if isinstance(v, tuple) else v) for k, v in changes.items()}
    return scn.with_overrides(ztunnels={node: replace(zo, **merged)})  # type: ignore[arg-type]


def with_hostile_text(scn: Scenario) -> Scenario:
    """Return `scn` with injection strings in every user-controlled text field that reaches a bundle."""
    ns, node = _app_namespace(scn), _app_node(scn)
    pod = app_pod(
        ns,
        "notes-v1",
        app="notes",
        version=SCRIPT,  # becomes canonicalRevision in ztunnel's and istiod's workload entries
        node=node,
        service_account="notes",
        annotations={
            "description": SCRIPT,
            "example.com/owner": ATTR_BREAK,
            "example.com/runbook": JS_URL,
            "example.com/attachment": BIDI_TEXT,
        },
        image=f"registry.example.com/notes:1.0{ATTR_BREAK}",
    )
    pod = replace(pod, labels={**pod.labels, "owner": ATTR_BREAK, "docs": JS_URL, "team": BIDI_TEXT})
    scn = add_pod(scn, pod)
    # AuthorizationPolicy principals are free text that istiod passes through to every ztunnel.
    policy = Policy(ns, "notes-viewer", principals=(f"cluster.local/ns/{ns}/sa/{ATTR_BREAK}", JS_URL))
    scn = replace(
        scn,
        policies=scn.policies + (policy,),
        namespaces=tuple(
            Namespace(n.name, {**n.labels, "owner": JS_URL}) if n.name == ns else n for n in scn.namespaces
        ),
    )
    for (
        n
    ) in scn.nodes:  # a root of trust whose subject O= carries markup (left alone where a test planted one)
        if scn.ztunnel_on(n.name) and scn.ztunnel_override(n.name).root == "cluster":
            scn = _with_ztunnel(scn, n.name, root=f"cluster {SCRIPT}{ATTR_BREAK}{BIDI}")
    stale = StaleWorkload(ns, f"{SCRIPT}{BIDI}-7d9c8b5f4-x1", "10.244.0.98", node, "notes")
    scn = _with_ztunnel(
        scn,
        node,
        drift=replace(
            scn.ztunnel_override(node).drift,
            extra_workloads=scn.ztunnel_override(node).drift.extra_workloads + (stale,),
        ),
        logs=(
            LogEvent(
                "warn",
                "dns::server",
                "dns lookup failed",
                (
                    ("hostname", f"{SCRIPT}.{BIDI_TEXT}.example.com"),
                    ("err", f'no records for "{ATTR_BREAK}"'),
                ),
                ago=timedelta(seconds=50),
            ),
            LogEvent("info", "proxy::inbound", f"redirect to {JS_URL}", (("uri", JS_URL),)),
        ),
    )
    return replace(
        scn,
        istiod_logs=scn.istiod_logs
        + (
            LogEvent(
                "warn",
                "model",
                f'Invalid AuthorizationPolicy {ns}/notes: principal "{SCRIPT}" is not a valid SPIFFE ID',
                (("policy", ATTR_BREAK),),
                ago=timedelta(minutes=3),
            ),
            LogEvent(
                "info", "ads", f"Push debounce stable for {BIDI_TEXT} ({JS_URL})", ago=timedelta(minutes=2)
            ),
        ),
    )


def with_planted_secrets(scn: Scenario) -> Scenario:
    """Return `scn` with credentials hidden where real ones hide; listed in `planted_secrets`."""
    ns, node = _app_namespace(scn), _app_node(scn)
    last_applied = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "billing", "namespace": ns},
        "spec": {
            "containers": [
                {
                    "name": "billing",
                    "image": "registry.example.com/billing:2.3",
                    "env": [{"name": "DB_PASSWORD", "value": LAST_APPLIED_PASSWORD}],
                }
            ]
        },
    }
    pod = app_pod(
        ns,
        "billing-v1",
        app="billing",
        node=node,
        service_account="billing",
        env={
            "LOG_LEVEL": "info",
            "DB_PASSWORD": DB_PASSWORD,
            "API_TOKEN": API_TOKEN,
            "GITHUB_TOKEN": GITHUB_TOKEN,
        },
        annotations={"kubectl.kubernetes.io/last-applied-configuration": json.dumps(last_applied) + "\n"},
    )
    scn = add_pod(scn, pod)
    scn = _with_ztunnel(
        scn,
        node,
        logs=(
            LogEvent(
                "warn",
                "xds::client:xds{id=1}",
                "XDS client connection error",
                (
                    (
                        "err",
                        f'gRPC connection error: request headers {{"authorization": "Bearer {LOG_BEARER}"}}',
                    ),
                ),
                ago=timedelta(seconds=45),
            ),
            LogEvent(
                "error",
                "tls",
                f"failed to parse certificate chain, got:\n{PEM_KEY}",
                ago=timedelta(seconds=35),
            ),
        ),
    )
    # A header list logged as JSON, on another node, so nothing else in that log looks like a secret:
    # only the pair's name says its value is a credential.
    other = next((n.name for n in scn.nodes if n.name != node), node)
    scn = _with_ztunnel(
        scn,
        other,
        logs=(
            LogEvent(
                "info",
                "proxy::inbound",
                f'request headers [{{"name":"cookie","value":"{SESSION_COOKIE}"}}]',
                ago=timedelta(seconds=50),
            ),
        ),
    )
    cni_node = next((p.node for p in scn.pods if p.role is Role.CNI and p.node), node)
    return replace(
        scn,
        xds_headers=(("authorization", f"Bearer {XDS_TOKEN}"),),
        ca_headers=(("authorization", f"Bearer {CA_TOKEN}"),),
        istiod_logs=scn.istiod_logs
        + (
            LogEvent(
                "warn",
                "authn",
                "JWT validation failed",
                (("token", LOG_JWT), ("issuer", "https://kubernetes.default.svc.cluster.local")),
                ago=timedelta(minutes=4),
            ),
            LogEvent(
                "info",
                "default",
                f"env: AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID={AWS_KEY_ID}",
                ago=timedelta(minutes=6),
            ),
        ),
        cni_logs={
            **scn.cni_logs,
            cni_node: scn.cni_logs.get(cni_node, ())
            + (
                LogEvent(
                    "info",
                    "cni-agent",
                    f"exporting AWS_SECRET_ACCESS_KEY={AWS_SECRET} to the plugin environment",
                    ago=timedelta(minutes=1),
                ),
            ),
        },
        planted_secrets=scn.planted_secrets + tuple(PLANTED.values()),
    )
