"""The writer scans each member as it writes it; that scan must find what reading the archive back finds."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import body as body_module
from collector import leakscan, redact
from collector.archive import BundleWriter
from collector.body import Body
from collector.budget import write_logs
from collector.manifest import Manifest
from ztbundle.layout import Input

# A token the matchers always flag (a JWT shape), and filler that holds none.
JWT = (
    b"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ"
    b".c2lnbmF0dXJlLXNpZ25hdHVyZQ"
)
FILLER = b'{"name": "reviews-v1", "ip": "10.0.0.7"}\n'


def _text(at: int, size: int) -> bytes:
    data = bytearray((FILLER * (size // len(FILLER) + 1))[:size])
    if at >= 0:
        data[at:at] = b"authorization: Bearer " + JWT + b"\n"
    return bytes(data)


def _read_back(archive: Path) -> list[leakscan.Leak]:
    """Every member's first hit, scanned from the archive as written (the scan's independent twin)."""
    leaks = []
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            f = tar.extractfile(info) if info.isfile() else None
            hit = leakscan.scan_stream(f) if f is not None else None
            if hit is not None:
                leaks.append(leakscan.Leak(info.name, *hit))
    return leaks


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(0, 3 * leakscan.CHUNK),
    at=st.integers(-1, 3 * leakscan.CHUNK),
    cuts=st.lists(st.integers(0, 3 * leakscan.CHUNK), max_size=6),
)
def test_scanning_parts_finds_what_reading_the_stream_finds(size: int, at: int, cuts: list[int]) -> None:
    data = _text(min(at, size), size)
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    parts = [memoryview(data)[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    assert leakscan.scan_parts(parts) == leakscan.scan_stream(io.BytesIO(data))
    assert (leakscan.scan_parts(parts) is None) == (at < 0)


def test_the_writers_findings_are_what_the_finished_archive_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes, an in-memory body and a spooled body: the writer's scan equals the read-back scan."""
    monkeypatch.setattr(body_module, "MEMORY", body_module.Budget(0))  # past 1 MiB a body spools
    writer = BundleWriter(tmp_path / "b.tar.gz", dedupe=False)
    spooled = Body()
    for _ in range(40):  # past SPOOL_BYTES and the memory budget's first MiB: on disk
        spooled.write(_text(-1, 64 << 10))
    spooled.write(_text(10, 4096))
    writer.add("logs/a.log", _text(5000, 200_000))
    writer.add("logs/b.log", Body.of(_text(-1, 300_000)))
    writer.add("logs/c.log", spooled)
    writer.add("logs/d.log", Body.of(_text(leakscan.CHUNK - 20, 2 * leakscan.CHUNK)))
    writer.abort()  # closed, not renamed: the .partial stays to be read back
    assert not spooled.in_memory
    assert [x.member for x in writer.leaks] == ["logs/a.log", "logs/c.log", "logs/d.log"]
    assert writer.leaks == _read_back(writer.partial)


@pytest.mark.parametrize("max_size", [1 << 30, 0], ids=["whole", "trimmed-to-nothing"])
def test_deferred_logs_findings_are_what_the_archive_holds_whole_or_trimmed(
    tmp_path: Path, max_size: int
) -> None:
    """A deferred log is scanned as it arrives; written whole, that scan stands for it; trimmed, the
    trimmed bytes are scanned instead, so a leak the trim dropped is not reported."""
    writer = BundleWriter(tmp_path / "b.tar.gz", defer_logs=True)
    writer.put("logs/a.log", Body.of(_text(5000, 200_000)), Input.ZTUNNEL_LOGS)
    writer.put("logs/b.log", Body.of(_text(-1, 100_000)), Input.ZTUNNEL_LOGS)
    assert [log.leak is not None for log in writer.spooled] == [True, False]
    write_logs(writer, Manifest(command=[], context=None, options={}), max_size)
    writer.abort()
    assert writer.leaks == _read_back(writer.partial)
    assert [x.member for x in writer.leaks] == (["logs/a.log"] if max_size else [])


@pytest.mark.parametrize("defer_logs", [True, False], ids=["deferred", "written-now"])
def test_text_is_leak_scanned_once_when_clean_and_after_redaction_when_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, defer_logs: bool
) -> None:
    """The redactor's leak scan of a clean log is the one the writer keeps; a log with a secret is
    redacted, and what the writer stores is scanned again. Either way the archive holds no leak."""
    scanned: list[int] = []
    real = leakscan.scan_body
    monkeypatch.setattr(leakscan, "scan_body", lambda body: scanned.append(body.size) or real(body))
    writer = BundleWriter(tmp_path / "b.tar.gz", defer_logs=defer_logs)
    clean, dirty = Body.of(_text(-1, 300_000)), Body.of(_text(5000, 300_000))
    for name, body in (("logs/clean.log", clean), ("logs/dirty.log", dirty)):
        out = redact.redact_body(name, body, is_json=False)
        assert out.body is not None
        writer.put(name, out.body, Input.ZTUNNEL_LOGS)
    assert clean.leak_free and not dirty.leak_free
    assert scanned == [clean.size, dirty.size, dirty.size - len(JWT) + len("[REDACTED:jwt]")]
    write_logs(writer, Manifest(command=[], context=None, options={}), 1 << 30)
    writer.abort()
    assert writer.leaks == _read_back(writer.partial) == []


def test_a_body_written_to_after_its_leak_scan_is_scanned_again(tmp_path: Path) -> None:
    body = Body.of(_text(-1, 100_000))
    assert redact.redact_body("logs/a.log", body, is_json=False).body is body and body.leak_free
    body.write(b"authorization: Bearer " + JWT + b"\n")
    assert not body.leak_free
    writer = BundleWriter(tmp_path / "b.tar.gz", dedupe=False)
    writer.add("logs/a.log", body)
    writer.abort()
    assert [x.member for x in writer.leaks] == ["logs/a.log"]
    assert writer.leaks == _read_back(writer.partial)
