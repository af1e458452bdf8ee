"""Redaction by structure, not by luck; a tenant can neither leak through it nor stop or stall a collect.

Secrets in the classes the README says are redacted, written the ways real clients write them: a
JSON-escaped `Bearer\\u0020…`, AWS STS credentials in camelCase, a PEM key whose body is one line, a
base64 PEM wrapped at 76 columns, a probe header `Authorization: Basic …`. Each is redacted, and the
leak scan (the same matchers) sees it in the raw text. A harmless `dnsConfig` option named like a
credential is neutralized and recorded instead of refusing the bundle, and adversarial 1 MiB inputs
cost linear time.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterator

import pytest

from collector import leakscan, redact, redact_text
from collector.body import Body
from tests.collector.bundle_io import Run, collect
from tests.fakecluster import FakeCluster, hostile, scenarios
from tests.fakecluster.scenario import Scenario, add_pod, app_pod
from ztbundle import layout
from ztbundle.exits import Exit

BEARER = hostile.LOG_BEARER
AWS_SECRET = hostile.AWS_SECRET
SESSION_TOKEN = "IQoJb3JpZ2luX2VjE" + "Q" * 40 + "/Zm9vYmFy+c2Vzc2lvbg=="
BASIC = base64.b64encode(b"tenant-admin:correct-horse-battery").decode()
PEM_B64 = base64.encodebytes(hostile.PEM_KEY.encode()).decode()  # wrapped at 76 columns
PEM_ONE_LINE_BODY = "MC4CAQAwBQYDK2VwBCIEI" + "A" * 150 + "Zm9v"
PEM_ONE_LINE = f"-----BEGIN PRIVATE KEY-----\n{PEM_ONE_LINE_BODY}\n-----END PRIVATE KEY-----"


def _material(value: str) -> list[str]:
    """The pieces of a secret that must not survive: each line of a wrapped one, the whole otherwise."""
    lines = [line for line in value.splitlines() if len(line) >= 16 and "-----" not in line]
    return lines or [value]


# (case id, text as it reaches the redactor, the secret inside it)
TEXT_CASES = [
    (
        "json-escaped-bearer",
        f'{{"msg":"upstream said","hdr":"Authorization: Bearer\\u0020{BEARER}"}}',
        BEARER,
    ),
    ("aws-camel-secret", f'{{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"{AWS_SECRET}"}}', AWS_SECRET),
    ("aws-camel-session", f'{{"SessionToken":"{SESSION_TOKEN}","Expiration":"2026-12-01"}}', SESSION_TOKEN),
    ("aws-kebab-secret", f"secret-access-key: {AWS_SECRET}", AWS_SECRET),
    ("basic-auth-header", f"probe failed: Authorization: Basic {BASIC}", BASIC),
    ("pem-one-line-body", f"loaded key:\n{PEM_ONE_LINE}\nthen more", PEM_ONE_LINE_BODY),
    ("pem-base64-76-columns", f"tls.key:\n{PEM_B64}done\n", PEM_B64),
    ("pem-base64-escaped-newlines", "tls.key=" + PEM_B64.replace("\n", "\\n"), PEM_B64),
]


@pytest.mark.parametrize(("text", "secret"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES])
def test_text_secret_is_redacted_and_the_leak_scan_sees_it_raw(text: str, secret: str) -> None:
    out, counts = redact_text.redact_text(text)
    assert counts and "[REDACTED:" in out
    assert not [m for m in _material(secret) if m in out]
    assert leakscan.scan_stream(io.BytesIO(text.encode())) is not None
    assert leakscan.scan_stream(io.BytesIO(out.encode())) is None


@pytest.mark.parametrize(("text", "secret"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES])
def test_a_log_carrying_the_secret_keeps_its_other_lines(text: str, secret: str) -> None:
    log = f"2026-01-01T00:00:00Z info before\n{text}\n2026-01-01T00:00:01Z info after the secret\n"
    out = redact.redact_body("ztunnel/z/logs/ztunnel.log", Body.of(log.encode()), is_json=False)
    assert out.body is not None and out.redactions
    stored = out.body.read_bytes().decode()
    assert not [m for m in _material(secret) if m in stored]
    assert stored.startswith("2026-01-01T00:00:00Z info before\n")
    assert stored.endswith("2026-01-01T00:00:01Z info after the secret\n")
    assert leakscan.scan_stream(io.BytesIO(stored.encode())) is None


def _pods(*pods: dict[str, object]) -> bytes:
    return json.dumps({"kind": "PodList", "items": list(pods)}, indent=2).encode() + b"\n"


def test_json_fields_are_redacted_by_structure_whatever_the_key_style() -> None:
    pod = {
        "metadata": {
            "name": "tenant-0",
            "annotations": {"tenant.example/credentials": json.dumps({"SecretAccessKey": AWS_SECRET})},
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "livenessProbe": {
                        "httpGet": {
                            "path": "/healthz",
                            "httpHeaders": [{"name": "Authorization", "value": BASIC}],
                        }
                    },
                    "env": [{"name": "Session-Token", "value": SESSION_TOKEN}],
                }
            ],
        },
        "status": {"credentials": {"secretAccessKey": AWS_SECRET, "session_token": SESSION_TOKEN}},
    }
    raw = _pods(pod)
    out = redact.redact_body(layout.PODS, Body.of(raw), is_json=True)
    assert out.body is not None
    stored = out.body.read_bytes()
    for secret in (AWS_SECRET, SESSION_TOKEN, BASIC):
        assert secret.encode() not in stored, secret
    doc = json.loads(stored)["items"][0]
    assert doc["spec"]["containers"][0]["livenessProbe"]["httpGet"]["httpHeaders"][0] == {
        "name": "Authorization",
        "value": "[REDACTED:credential-pair]",
    }
    assert doc["status"]["credentials"]["secretAccessKey"] == "[REDACTED:credential-key]"
    assert doc["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/healthz"
    fields = {(r.rule.value, r.field) for r in out.redactions}
    assert (
        "credential-pair",
        "items[].spec.containers[].livenessProbe.httpGet.httpHeaders[Authorization]",
    ) in fields
    assert leakscan.scan_stream(io.BytesIO(raw)) is not None
    assert leakscan.scan_stream(io.BytesIO(stored)) is None


def test_a_json_escaped_secret_nested_in_a_string_is_redacted() -> None:
    inner = json.dumps({"hdr": "Bearer " + BEARER}).replace(" ", "\\u0020")  # escaped inside the string
    raw = _pods({"metadata": {"name": "t", "annotations": {"note": inner}}})
    out = redact.redact_body(layout.PODS, Body.of(raw), is_json=True)
    assert out.body is not None and BEARER.encode() not in out.body.read_bytes()
    assert leakscan.scan_stream(io.BytesIO(raw)) is not None


def test_certificates_in_base64_at_any_width_stay() -> None:
    cert = (
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUfake" + "Q" * 120 + "\n-----END CERTIFICATE-----\n"
    )
    wrapped = base64.encodebytes(cert.encode()).decode()
    for text in (wrapped, base64.b64encode(cert.encode()).decode(), json.dumps({"pem": wrapped})):
        assert redact_text.redact_text(text) == (text, {})
        assert leakscan.scan_stream(io.BytesIO(text.encode())) is None


# --- a tenant cannot stop a collect ---------------------------------------------------------------


def _tenant(scn: Scenario) -> Scenario:
    """A tenant pod with a harmless DNS option named like a credential and secrets in odd places."""
    ns = next(n.name for n in scn.namespaces if n.ambient)
    pod = app_pod(
        ns,
        "tenant",
        spec_extra={
            "dnsConfig": {"options": [{"name": "session", "value": "2"}, {"name": "ndots", "value": "5"}]}
        },
        container_extra={
            "livenessProbe": {
                "httpGet": {
                    "path": "/healthz",
                    "port": 8080,
                    "httpHeaders": [{"name": "Authorization", "value": f"Basic {BASIC}"}],
                }
            }
        },
        annotations={
            "tenant.example/sts": json.dumps({"SecretAccessKey": AWS_SECRET, "SessionToken": SESSION_TOKEN}),
            "tenant.example/tls-key": PEM_B64,
            "tenant.example/note": json.dumps({"hdr": f"Bearer {BEARER}"}).replace(" ", "\\u0020"),
        },
    )
    return add_pod(scn, pod)


@pytest.fixture(scope="module")
def tenant_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    with FakeCluster(_tenant(scenarios.bookinfo())) as cluster:
        yield collect(cluster, tmp_path_factory.mktemp("tenant"))


def test_a_tenant_pod_neither_leaks_nor_stops_the_collect(tenant_run: Run) -> None:
    assert tenant_run.code == Exit.OK, tenant_run.manifest.get("errors")
    for secret in (AWS_SECRET, SESSION_TOKEN, BASIC, BEARER, *_material(PEM_B64)):
        carriers = [m for m, data in tenant_run.members.items() if secret.encode() in data]
        assert carriers == [], secret
    pods = json.loads(tenant_run.members[layout.PODS])
    tenant = next(p for p in pods["items"] if p["metadata"]["name"].startswith("tenant-"))
    options = tenant["spec"]["dnsConfig"]["options"]
    assert options == [
        {"name": "session", "value": "[REDACTED:credential-pair]"},
        {"name": "ndots", "value": "5"},
    ]
    records = {
        (r["rule"], r["field"]) for r in tenant_run.manifest["redactions"] if r["artifact"] == layout.PODS
    }
    assert ("credential-pair", "items[].spec.dnsConfig.options[session]") in records
    assert (
        "credential-pair",
        "items[].spec.containers[].livenessProbe.httpGet.httpHeaders[Authorization]",
    ) in records


# --- linear worst cases ---------------------------------------------------------------------------

MIB = 1 << 20
BUDGET_S = 10.0  # for 1 MiB (about 1 s here); the quadratic patterns this replaced took 126 s at 200 KiB


def _adversarial() -> dict[str, str]:
    marker = redact_text.B64_PRIVATE_KEY[0]
    return {
        "A-run-then-b64-pem-marker": "A" * MIB + marker,
        "A-runs-split-by-dashes-then-marker": ("A" * 4096 + "-") * (MIB // 4097) + marker,
        "jwt-heads": "eyJ" * (MIB // 3),
        "jwt-head-then-run": "eyJ" + "A" * MIB,
        "pem-begins": "-----BEGIN PRIVATE KEY-----" * (MIB // 27),
        "pem-begin-then-spaces": "-----BEGIN " + "A " * (MIB // 2),
        "b64-pem-starts": "LS0tLS1CRUdJTi\n" * (MIB // 15),
        "bearers": "bearer " * (MIB // 7),
        "key-names": "secretAccessKey=" * (MIB // 16),
        "name-value-pairs": '"name": "token", "value": "' * (MIB // 28),
        "backslashes": "\\u0020\\n" * (MIB // 8),
    }


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@pytest.mark.parametrize("case", list(_adversarial()))
def test_redaction_and_scan_take_linear_time_on_adversarial_input(case: str) -> None:
    text = _adversarial()[case]
    data = text.encode()
    spent = {
        "redact_text": _timed(lambda: redact_text.redact_text(text)),
        "log stream": _timed(lambda: redact.redact_body("x.log", Body.of(data), is_json=False)),
        "json body": _timed(
            lambda: redact.redact_body("x.json", Body.of(json.dumps({"k": text}).encode()), is_json=True)
        ),
        "leak scan": _timed(lambda: leakscan.scan_stream(io.BytesIO(data))),
    }
    assert max(spent.values()) < BUDGET_S, spent
