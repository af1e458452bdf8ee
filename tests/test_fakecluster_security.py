"""Security content: hostile text, planted secrets and the least-privilege RBAC preset.

Served through the REAL kubernetes client where the collector would read it, so a test here fails
if the content never leaves the fake cluster.
"""

# The client's models type every field Optional; asserting on them is the point of these tests.
# With _preload_content=False the client returns the raw response, which its stubs do not know.
# mypy: disable-error-code="union-attr,index,arg-type,operator,no-untyped-call,attr-defined,no-any-return"

from __future__ import annotations

import base64
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.fakecluster import FakeCluster, hostile, payloads, scenarios
from tests.fakecluster.hostile import ATTR_BREAK, BIDI, HOSTILE_STRINGS, JS_URL, PLANTED, SCRIPT
from tests.fakecluster.logs import ztunnel_metrics
from tests.fakecluster.scenario import Role, Scenario
from ztbundle.cli import main
from ztbundle.exits import Exit

N1, N2, N3 = scenarios.NODES
ISTIO_NS = "istio-system"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def api_client(cluster: FakeCluster) -> client.ApiClient:
    c = config.new_client_from_config(str(cluster.kubeconfig), context=cluster.context)
    c.configuration.retries = 0
    return c


@pytest.fixture(scope="module")
def hostile_cluster() -> Iterator[FakeCluster]:
    with FakeCluster(scenarios.hostile()) as cluster:
        yield cluster


def served_text(cluster: FakeCluster) -> dict[str, str]:
    """What the collector reads, as received: pod/namespace lists, ztunnel dumps, Istio component logs."""
    scn, core = cluster.scenario, client.CoreV1Api(api_client(cluster))
    out = {
        "pods": core.list_pod_for_all_namespaces(_preload_content=False).data.decode(),
        "namespaces": core.list_namespace(_preload_content=False).data.decode(),
    }
    for node in scn.nodes:
        out[f"config_dump {node.name}"] = payloads.ztunnel_config_dump_bytes(scn, node.name).decode()
    for pod in scn.pods:
        if pod.role in (Role.ZTUNNEL, Role.ISTIOD, Role.CNI):
            body = core.read_namespaced_pod_log(pod.name, pod.namespace, _preload_content=False).data
            out[f"log {pod.name}"] = body.decode()
    return out


# --- hostile text -----------------------------------------------------------------------------------


def test_hostile_text_reaches_pods_namespaces_dumps_and_logs(hostile_cluster: FakeCluster) -> None:
    text = served_text(hostile_cluster)
    pods = json.loads(text["pods"])["items"]
    notes = next(p for p in pods if p["metadata"]["name"].startswith("notes-v1-"))
    assert notes["metadata"]["labels"]["version"] == SCRIPT and notes["metadata"]["labels"]["docs"] == JS_URL
    assert notes["metadata"]["annotations"]["example.com/owner"] == ATTR_BREAK
    assert BIDI in notes["metadata"]["annotations"]["example.com/attachment"]
    assert notes["spec"]["containers"][0]["image"].endswith(ATTR_BREAK)
    default_ns = next(
        n for n in json.loads(text["namespaces"])["items"] if n["metadata"]["name"] == "default"
    )
    assert default_ns["metadata"]["labels"]["owner"] == JS_URL
    # every hostile string reaches each kind of source the collector stores
    for needle in HOSTILE_STRINGS:
        escaped = json.dumps(needle)[1:-1]  # as it appears inside JSON text
        for kind in ("pods", "config_dump", "log"):
            assert any((needle in v or escaped in v) for k, v in text.items() if k.startswith(kind)), (
                f"{needle!r} not in any {kind}"
            )


def test_names_stay_valid_dns_but_dump_names_are_hostile() -> None:
    scn = scenarios.hostile()
    assert all(DNS_SUBDOMAIN.match(p.name) and len(p.name) <= 253 for p in scn.pods)
    assert all(DNS_LABEL.match(p.service_account) for p in scn.pods)
    assert all(DNS_LABEL.match(n.name) for n in scn.namespaces)
    dump = payloads.ztunnel_config_dump(scn, N1)
    stale = next(w for w in dump["workloads"] if w["name"].startswith(SCRIPT))
    assert stale["workloadName"] == stale["canonicalName"] == SCRIPT + BIDI
    notes = next(w for w in dump["workloads"] if w["name"].startswith("notes-v1-"))
    assert notes["canonicalRevision"] == SCRIPT
    root_pem = base64.b64decode(dump["certificates"][0]["rootCerts"][0]["pem"])
    subject = x509.load_pem_x509_certificate(root_pem).subject
    org = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert org == f"cluster {SCRIPT}{ATTR_BREAK}{BIDI}"


def test_hostile_text_composes_with_other_overrides() -> None:
    broken = scenarios.broken()
    scn = hostile.with_planted_secrets(hostile.with_hostile_text(broken))
    assert scn.ztunnel_override(N2).root == "rogue-root"  # planted roots are left alone
    assert (
        scn.ztunnel_override(N1).drift.missing_workloads
        == broken.ztunnel_override(N1).drift.missing_workloads
    )
    assert len(scn.ztunnel_override(N1).logs) == len(broken.ztunnel_override(N1).logs) + 4
    assert scn.cni_logs[N1][: len(broken.cni_logs[N1])] == broken.cni_logs[N1]
    assert len({p.ip for p in scn.pods if p.ip}) == len([p for p in scn.pods if p.ip])  # no IP reused


def test_metrics_escape_label_values() -> None:
    from dataclasses import replace

    base = scenarios.bookinfo()
    pods = tuple(
        replace(p, labels={**p.labels, "version": ATTR_BREAK}) if p.labels.get("app") == "curl" else p
        for p in base.pods
    )
    scn = replace(base, pods=pods)
    curl = next(p for p in scn.pods if p.labels.get("app") == "curl")
    text = ztunnel_metrics(scn, curl.node).decode()
    assert 'source_canonical_revision="\\"><img src=x onerror=alert(1)>"' in text


# --- planted secrets ------------------------------------------------------------------------------


def test_planted_secrets_are_listed_and_look_real() -> None:
    scn = scenarios.hostile()
    assert set(scn.planted_secrets) == set(PLANTED.values()) and len(set(PLANTED.values())) == len(PLANTED)
    assert scenarios.bookinfo().planted_secrets == ()
    assert scenarios.hostile().planted_secrets == scn.planted_secrets  # derived from names: stable
    for token in (hostile.XDS_TOKEN, hostile.CA_TOKEN, hostile.LOG_JWT):
        header, claims, sig = token.split(".")
        assert (
            token.startswith("eyJ") and json.loads(base64.urlsafe_b64decode(header + "=="))["alg"] == "RS256"
        )
        assert json.loads(base64.urlsafe_b64decode(claims + "=="))["sub"].startswith("system:serviceaccount:")
        assert len(base64.urlsafe_b64decode(sig + "==")) == 256
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", hostile.AWS_KEY_ID) and len(hostile.AWS_SECRET) == 40
    assert re.fullmatch(r"ghp_[A-Za-z0-9]{36}", hostile.GITHUB_TOKEN)
    assert hostile.PEM_KEY.startswith("-----BEGIN PRIVATE KEY-----\n")
    serialization.load_pem_private_key(hostile.PEM_KEY.encode(), None)


def test_every_planted_secret_is_served_where_real_ones_hide(hostile_cluster: FakeCluster) -> None:
    text = served_text(hostile_cluster)
    expected = {
        "ztunnel config.xdsHeaders": "config_dump",
        "ztunnel config.caHeaders": "config_dump",
        "pod env DB_PASSWORD": "pods",
        "pod env API_TOKEN": "pods",
        "pod env GITHUB_TOKEN": "pods",
        "pod annotation last-applied-configuration": "pods",
        "ztunnel log bearer token": "log ztunnel-",
        "istiod log JWT": "log istiod-",
        "ztunnel log PEM private key (body)": "log ztunnel-",
        "istiod log AWS access key id": "log istiod-",
        "istio-cni log AWS secret access key": "log istio-cni-",
        "ztunnel log cookie header pair (its log's only secret)": "log ztunnel-",
    }
    assert set(expected) == set(PLANTED)
    for where, value in PLANTED.items():
        found = {k for k, v in text.items() if value in v}
        assert found and all(k.startswith(expected[where]) for k in found), (where, found)
    dump = json.loads(text[f"config_dump {N1}"])["config"]
    assert dump["xdsHeaders"] == [["authorization", f"Bearer {hostile.XDS_TOKEN}"]]
    assert dump["caHeaders"] == [["authorization", f"Bearer {hostile.CA_TOKEN}"]]
    billing = next(
        p for p in json.loads(text["pods"])["items"] if p["metadata"]["name"].startswith("billing-v1-")
    )
    env = {e["name"]: e["value"] for e in billing["spec"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"] == hostile.DB_PASSWORD and env["LOG_LEVEL"] == "info"
    applied = json.loads(
        billing["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert applied["spec"]["containers"][0]["env"][0]["value"] == hostile.LAST_APPLIED_PASSWORD
    zt_log = next(v for k, v in text.items() if hostile.PEM_BODY in v)
    lines = zt_log.splitlines()
    begin = lines.index("-----BEGIN PRIVATE KEY-----")  # a PEM in a log spans physical lines
    assert lines[begin + 1] == hostile.PEM_BODY and lines[begin + 2].rstrip() == "-----END PRIVATE KEY-----"


# --- least-privilege RBAC -------------------------------------------------------------------------


def _can(authz: client.AuthorizationV1Api, verb: str, resource: str, **attrs: str) -> bool:
    spec = client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(verb=verb, resource=resource, **attrs)
    )
    review = authz.create_self_subject_access_review(client.V1SelfSubjectAccessReview(spec=spec))
    return bool(review.status.allowed)


ALLOWED = [
    ("list", "pods", {}),
    ("get", "pods", {"namespace": "default", "name": "x"}),
    ("list", "nodes", {}),
    ("get", "namespaces", {"name": "default"}),
    ("list", "services", {}),
    ("list", "events", {"namespace": ISTIO_NS}),
    ("list", "endpointslices", {"group": "discovery.k8s.io"}),
    ("get", "pods", {"subresource": "log", "namespace": ISTIO_NS}),
    ("create", "pods", {"subresource": "portforward", "namespace": ISTIO_NS}),
    ("get", "configmaps", {"namespace": ISTIO_NS, "name": "istio"}),
    ("list", "daemonsets", {"group": "apps", "namespace": ISTIO_NS}),
    ("get", "deployments", {"group": "apps", "namespace": ISTIO_NS, "name": "istiod"}),
    ("create", "selfsubjectaccessreviews", {"group": "authorization.k8s.io"}),
]
DENIED = [
    ("list", "secrets", {"namespace": ISTIO_NS}),
    ("get", "secrets", {"namespace": ISTIO_NS, "name": "istio-ca-secret"}),
    ("list", "configmaps", {"namespace": ISTIO_NS}),  # resourceNames never cover a list
    ("get", "configmaps", {"namespace": ISTIO_NS, "name": "istio-ca-root-cert"}),
    ("get", "configmaps", {"namespace": "default", "name": "istio"}),
    ("list", "deployments", {"group": "apps", "namespace": "default"}),
    ("list", "daemonsets", {"group": "apps"}),
    ("create", "pods", {"subresource": "exec", "namespace": ISTIO_NS}),
    ("get", "pods", {"subresource": "proxy", "namespace": ISTIO_NS}),
    ("delete", "pods", {"namespace": "default"}),
    ("watch", "pods", {}),
    ("list", "endpointslices", {"group": "apps"}),  # same name, wrong API group
]


def test_least_privilege_answers_selfsubjectaccessreviews(fake_cluster: object) -> None:
    with FakeCluster(scenarios.with_least_privilege(scenarios.bookinfo())) as cluster:
        authz = client.AuthorizationV1Api(api_client(cluster))
        assert [a for a in ALLOWED if not _can(authz, a[0], a[1], **a[2])] == []
        assert [d for d in DENIED if _can(authz, d[0], d[1], **d[2])] == []
        core = client.CoreV1Api(api_client(cluster))
        assert core.read_namespaced_config_map("istio", ISTIO_NS).data["mesh"]
        for call in (
            lambda: core.read_namespaced_config_map("istio-ca-root-cert", ISTIO_NS),
            lambda: core.list_namespaced_secret(ISTIO_NS),
        ):
            with pytest.raises(ApiException) as err:
                call()
            assert err.value.status == 403


def test_real_collect_needs_nothing_beyond_least_privilege(tmp_path: Path) -> None:
    out = tmp_path / "hostile.tar.gz"
    scn: Scenario = scenarios.with_least_privilege(scenarios.hostile())
    with FakeCluster(scn) as fc:
        rc = main(
            ["collect", "--kubeconfig", str(fc.kubeconfig), "--context", fc.context, "--out-file", str(out)]
        )
        forbidden = [str(r) for r in fc.requests if r.status == 403]
    assert rc == Exit.OK and forbidden == []
    with tarfile.open(out) as tar:
        blob = "".join(
            tar.extractfile(m).read().decode("utf-8", "replace") for m in tar.getmembers() if m.isfile()
        )
    for needle in HOSTILE_STRINGS:  # the content is wired all the way through the real collector
        assert needle in blob or json.dumps(needle)[1:-1] in blob, needle
