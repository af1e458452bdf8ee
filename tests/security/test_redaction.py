"""Issue 6 part 2: secrets never enter a bundle (redaction before the writer, leak scan before the rename)."""

from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector import leakscan, redact, redact_text
from collector.body import SPOOL_BYTES, Body
from collector.redact_text import Reason
from tests.collector.bundle_io import Run, collect
from tests.fakecluster import FakeCluster, hostile, scenarios
from tests.fakecluster.hostile import PLANTED
from ztbundle import layout
from ztbundle.cli import main
from ztbundle.exits import Exit

CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUfake\n-----END CERTIFICATE-----\n"


@pytest.fixture(scope="module")
def hostile_cluster() -> Iterator[FakeCluster]:
    with FakeCluster(scenarios.hostile()) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def redacted(hostile_cluster: FakeCluster, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return collect(hostile_cluster, tmp_path_factory.mktemp("redacted"))


# --- end to end ----------------------------------------------------------------------------------


def test_no_planted_secret_survives_into_any_member(redacted: Run) -> None:
    assert redacted.code == Exit.OK, redacted.manifest.get("errors")
    leaks = [
        (where, member)
        for where, value in PLANTED.items()
        for member, data in redacted.members.items()
        if value.encode() in data
    ]
    assert leaks == []


def test_manifest_lists_every_redaction_by_rule_and_field_never_the_value(redacted: Run) -> None:
    records = redacted.manifest["redactions"]
    by_rule = {(r["rule"], r["artifact"].split("/")[0]) for r in records}
    for expected in (
        ("xds-headers", "ztunnel"),
        ("ca-headers", "ztunnel"),
        ("env-credential", "cluster"),
        ("last-applied-configuration", "cluster"),
        ("bearer-token", "ztunnel"),
        ("pem-private-key", "ztunnel"),
        ("jwt", "istiod"),
        ("aws-access-key-id", "istiod"),
        ("aws-secret-access-key", "cni"),
    ):
        assert expected in by_rule, expected
    env = {r["field"] for r in records if r["rule"] == "env-credential"}
    assert env == {
        f"items[].spec.containers[].env[{n}]" for n in ("DB_PASSWORD", "API_TOKEN", "GITHUB_TOKEN")
    }
    assert all(r["count"] >= 1 for r in records)
    manifest_text = redacted.members[layout.MANIFEST].decode()
    assert not [v for v in PLANTED.values() if v in manifest_text]


def test_redacted_members_still_parse_and_keep_what_debugging_needs(redacted: Run) -> None:
    pods = json.loads(redacted.members[layout.PODS])
    billing = next(p for p in pods["items"] if p["metadata"]["name"].startswith("billing-v1-"))
    env = {e["name"]: e["value"] for e in billing["spec"]["containers"][0]["env"]}
    assert env["LOG_LEVEL"] == "info" and env["DB_PASSWORD"] == "[REDACTED:env-credential]"
    dumps = [m for m in redacted.members if layout.parse_ztunnel_config_dump(m)]
    for member in dumps:
        data = redacted.members[member]
        config = json.loads(data)["config"]
        assert config["xdsHeaders"] == [["authorization", "[REDACTED:xds-headers]"]]
        assert data.startswith(b"{\n  ")  # re-serialised in ztunnel's own pretty style
        assert (
            "-----BEGIN CERTIFICATE-----"
            in base64.b64decode(json.loads(data)["certificates"][0]["rootCerts"][0]["pem"]).decode()
        )  # public certificates stay
    log = next(v for k, v in redacted.members.items() if k.startswith("ztunnel/") and b"REDACTED:pem" in v)
    assert b"PRIVATE KEY" not in log and b"XDS client connection error" in log


def test_bodies_without_secrets_keep_their_exact_bytes() -> None:
    body = Body.of(b'{\n  "config": {"xdsHeaders": [], "proxyMetadata": {"ISTIO_VERSION": "1.26"}}}\n')
    out = redact.redact_body("ztunnel/z/config_dump.json", body, is_json=True)
    assert out.body is body and out.redactions == ()
    compact = Body.of(b'{"items":[{"spec":{"containers":[{"env":[{"name":"LOG_LEVEL","value":"info"}]}]}}]}')
    assert redact.redact_body(layout.PODS, compact, is_json=True).body is compact


# --- units: patterns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (f"Authorization: Bearer {hostile.LOG_BEARER}", Reason.BEARER),
        (f"token={hostile.LOG_JWT}", Reason.JWT),
        (f"AWS_ACCESS_KEY_ID={hostile.AWS_KEY_ID}", Reason.AWS_KEY_ID),
        (f"aws_secret_access_key = {hostile.AWS_SECRET}", Reason.AWS_SECRET),
        (f"pushing with {hostile.GITHUB_TOKEN}", Reason.GITHUB_TOKEN),
        (f"key: {hostile.PEM_KEY}", Reason.PRIVATE_KEY),
        (f"tls.key={base64.b64encode(hostile.PEM_KEY.encode()).decode()}", Reason.PRIVATE_KEY_BASE64),
    ],
)
def test_each_pattern_redacts_and_the_leak_scan_would_have_caught_it(text: str, rule: Reason) -> None:
    out, counts = redact_text.redact_text(text)
    assert counts == {rule: 1} and f"[REDACTED:{rule.value}]" in out
    assert not [v for v in PLANTED.values() if v in out] and hostile.GITHUB_TOKEN not in out
    assert leakscan.scan_stream(_stream(text)) is not None
    assert leakscan.scan_stream(_stream(out)) is None


def test_certificates_and_prose_are_not_secrets() -> None:
    for text in (
        CERT_PEM,
        base64.b64encode(CERT_PEM.encode()).decode(),
        "missing Bearer token in request",
        "XDS_AUTH=true",
    ):
        assert redact_text.redact_text(text) == (text, {})
        assert leakscan.scan_stream(_stream(text)) is None


def test_a_pem_block_across_lines_is_removed_but_a_truncated_one_does_not_eat_the_log() -> None:
    lines = [
        b"ok before\n",
        b"-----BEGIN RSA PRIVATE KEY-----\n",
        b"MIIEpAIBAAKCAQEA1234\n",
        b"abcdEFGH5678==\n",
        b"-----END RSA PRIVATE KEY-----\n",
        b"ok after\n",
        b"x -----BEGIN EC PRIVATE KEY-----\n",
        b"MHcCAQEEIBfake\n",
        b"2024-01-01T00:00:00Z info next real line\n",
    ]
    out = b"".join(line for line, _ in redact_text.redact_lines(iter(lines)))
    assert out == (
        b"ok before\n[REDACTED:pem-private-key]\nok after\nx [REDACTED:pem-private-key]\n"
        b"2024-01-01T00:00:00Z info next real line\n"
    )


def test_a_spooled_log_is_redacted_as_a_stream() -> None:
    filler = b"2024-01-01T00:00:00Z info nothing to see here\n" * (2 * SPOOL_BYTES // 46)
    body = Body.of(filler + f"auth Bearer {hostile.LOG_BEARER}\n".encode() + filler)
    assert body.size > SPOOL_BYTES
    out = redact.redact_body("ztunnel/z/logs/istio-proxy.log", body, is_json=False)
    assert out.body is not None and out.body is not body
    data = out.body.read_bytes()
    assert hostile.LOG_BEARER.encode() not in data and data.count(b"\n") == 2 * filler.count(b"\n") + 1
    log = "ztunnel/z/logs/istio-proxy.log"
    assert out.redactions == (redact_text.Redaction(log, Reason.BEARER, None, 1),)
    assert out.body.sha256 != body.sha256


@pytest.mark.parametrize(
    "line",
    [
        b'info request headers [{"name":"cookie","value":"%s"}]\n',
        # a key spelled with a JSON escape: the pair shows only once escapes are undone
        b'info request headers [{"na\\u006de":"cookie","value":"%s"}]\n',
    ],
)
def test_a_log_whose_only_secret_is_a_credential_pair_is_redacted(line: bytes) -> None:
    """Nothing else in the log triggers: the pair alone must send it through the line redactor."""
    data = b"2024-01-01T00:00:00Z info starting\n" + line % hostile.SESSION_COOKIE.encode()
    out = redact.redact_body("ztunnel/z/logs/istio-proxy.log", Body.of(data), is_json=False)
    assert out.body is not None
    redacted = out.body.read_bytes()
    assert hostile.SESSION_COOKIE.encode() not in redacted and b"[REDACTED:credential-pair]" in redacted
    assert leakscan.scan_stream(_stream(data)) is not None and leakscan.scan_stream(_stream(redacted)) is None
    assert redact.redact_bytes("ztbundle.log", data)[0] == redacted


def test_truncated_json_that_may_hold_credentials_is_withheld() -> None:
    cut = b'{"items":[{"spec":{"containers":[{"env":[{"name":"DB_PASSWORD","value":"hunter2hunter2"}]'
    body, records, error = redact.apply(layout.PODS, Body.of(cut), "invalid JSON at byte 90", is_json=True)
    assert body is None and records == (redact_text.Redaction(layout.PODS, Reason.WITHHELD, None, 1),)
    assert error is not None and error.startswith("invalid JSON at byte 90; withheld")


def test_error_messages_are_masked() -> None:
    _, _, error = redact.apply("x", None, f"HTTP 500: bad token {hostile.LOG_JWT}", is_json=True)
    assert error == "HTTP 500: bad token [REDACTED:jwt]"


# --- the leak scan --------------------------------------------------------------------------------


def _stream(text: str | bytes) -> io.BytesIO:
    return io.BytesIO(text.encode() if isinstance(text, str) else text)


def test_leak_scan_finds_each_seeded_secret_in_the_unredacted_data(
    hostile_cluster: FakeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collect with the redactor switched off: the scan refuses the archive and sees every secret."""
    kept = tmp_path / "unredacted.tar.gz"
    real_check = leakscan.check_archive

    def keep_a_copy(partial: Path, bundle: Path, leaks: list[leakscan.Leak]) -> None:
        shutil.copyfile(partial, kept)
        real_check(partial, bundle, leaks)

    monkeypatch.setattr(redact, "redact_body", lambda path, body, **_: redact_text.Outcome(body, ()))
    monkeypatch.setattr(redact, "redact_bytes", lambda path, data: (data, ()))
    monkeypatch.setattr(redact, "redact_page", lambda page: (page.pop("items", None) or [], Counter()))
    monkeypatch.setattr(leakscan, "check_archive", keep_a_copy)
    run = collect(hostile_cluster, tmp_path)
    assert run.code == Exit.NOTHING_COLLECTED
    assert not run.out.exists() and not run.out.with_name(run.out.name + ".partial").exists()
    with tarfile.open(kept) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]
    for where, value in PLANTED.items():
        carriers = [name for name, data in members.items() if value.encode() in data]
        assert carriers, where
        for name in carriers:
            data = members[name]
            at = data.index(value.encode())
            window = data[max(0, at - 700) : at + len(value) + 64]
            assert leakscan.scan_stream(_stream(window)) is not None, (where, name)


def test_a_collect_whose_redactor_misses_a_secret_is_refused_by_the_writers_scan(
    hostile_cluster: FakeCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing reads the archive back: the writer's findings alone must refuse it."""
    monkeypatch.setattr(redact, "redact_bytes", lambda path, data: (data, ()))
    monkeypatch.setattr(redact, "redact_body", lambda path, body, **_: redact_text.Outcome(body, ()))
    run = collect(hostile_cluster, tmp_path)
    assert run.code == Exit.NOTHING_COLLECTED
    assert not run.out.exists() and not run.out.with_name(run.out.name + ".partial").exists()


def test_leak_scan_failure_is_one_line_naming_member_and_rule(
    hostile_cluster: FakeCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A redactor gap on one kind of artifact (logs) is caught, and nothing is finalized."""
    real = redact.redact_body

    def skip_logs(path: str, body: Body, **kw: Any) -> redact_text.Outcome:
        return redact_text.Outcome(body, ()) if path.endswith(".log") else real(path, body, **kw)

    monkeypatch.setattr(redact, "redact_body", skip_logs)
    out = tmp_path / "b.tar.gz"
    code = main(
        ["collect", "--kubeconfig", str(hostile_cluster.kubeconfig), "--context", hostile_cluster.context]
        + ["--out-file", str(out), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == Exit.NOTHING_COLLECTED and not out.exists() and list(tmp_path.iterdir()) == []
    assert err.startswith("ztbundle: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "leak scan found" in err and "bundle not finalized" in err
    # Each leak named is a log line with one of the secrets planted in logs; which logs come first
    # in the archive (and so are named before "and N more") depends on when each fetch finished.
    named = err.split("leak scan found ", 1)[1].split("; bundle not finalized", 1)[0].split(" (and ")[0]
    planted_in_logs = {Reason.BEARER, Reason.JWT, Reason.PRIVATE_KEY, Reason.AWS_KEY_ID, Reason.AWS_SECRET}
    planted_in_logs.add(Reason.CREDENTIAL_PAIR)
    leaks = named.split("; ")
    assert leaks and all("/logs/" in leak and leak.rsplit(": ", 1)[1] in planted_in_logs for leak in leaks)
    assert not [v for v in PLANTED.values() if v in err]
