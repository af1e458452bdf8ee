"""Unit tests of the collector's byte-level pieces: HTTP over a socket, JSON verdicts, archive, manifest."""

from __future__ import annotations

import argparse
import http.client
import io
import json
import socket
import stat
import tarfile
import threading
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.archive import BundleWriter
from collector.failures import Truncated, classify
from collector.judge import json_error
from collector.kube import _read_reply
from collector.manifest import Artifact, Manifest
from collector.steps import Item, Source, SourceKind
from collector.targets import PodRef
from collector.toollog import MaskingFilter
from ztbundle import layout
from ztbundle.commands.collect import duration, size
from ztbundle.layout import Component, Input, Status


def _reply(raw: bytes, *, max_bytes: int = 1 << 20) -> tuple[int, bytes]:
    a, b = socket.socketpair()

    def serve() -> None:
        b.sendall(raw)
        b.close()

    t = threading.Thread(target=serve)
    t.start()
    a.settimeout(2)
    resp = http.client.HTTPResponse(a)
    resp.begin()
    try:
        return resp.status, _read_reply(resp, max_bytes=max_bytes, timeout_s=2, what="t").read_bytes()
    finally:
        t.join()
        a.close()


def test_reply_decodes_chunked_bodies_like_go_servers_send() -> None:
    raw = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
    assert _reply(raw) == (200, b'{"a":1}')


def test_reply_flags_connection_closed_before_content_length() -> None:
    raw = b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"workloads": ['
    with pytest.raises(Truncated) as err:
        _reply(raw)
    assert err.value.body.read_bytes() == b'{"workloads": ['
    assert "closed mid-body" in err.value.message and "85 bytes short" in err.value.message


def test_reply_flags_chunked_body_cut_mid_chunk() -> None:
    raw = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"abc"'
    with pytest.raises(Truncated) as err:
        _reply(raw)
    assert err.value.body.read_bytes().startswith(b'{"abc"')


def test_reply_over_cap_keeps_head_and_records_trim() -> None:
    body = b"x" * 5000
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + body
    with pytest.raises(Truncated) as err:
        _reply(raw, max_bytes=1000)
    assert err.value.body.read_bytes() == b"x" * 1000
    assert err.value.trim is not None and err.value.trim.bytes_dropped == 4000


def test_json_error_names_byte_offset_and_accepts_valid_json() -> None:
    assert json_error(b'{"a": [1, 2]}') is None
    problem = json_error('{"é": [1, '.encode())
    assert problem is not None and problem.startswith("invalid JSON at byte 11")


def test_refused_websocket_upgrade_maps_http_status() -> None:
    from kubernetes.client.exceptions import ApiException

    exc = ApiException(
        status=0,
        reason="Handshake status 403 Forbidden -+-+- {} -+-+- "
        '{"kind":"Status","message":"pods \\"z\\" is forbidden"}',
    )
    failed = classify(exc, "port-forward to pods/z", 2)
    assert failed.status is Status.FORBIDDEN
    assert failed.message == '403 Forbidden: cannot port-forward to pods/z: pods "z" is forbidden'
    gone = classify(
        ApiException(status=0, reason="Handshake status 404 Not Found -+-+- {} -+-+- None"), "x", 2
    )
    assert gone.status is Status.ERROR and gone.message.startswith("HTTP 404 Not Found")


def test_timeouts_and_refusals_are_told_apart() -> None:
    from urllib3.exceptions import NewConnectionError, ReadTimeoutError

    timed_out = ReadTimeoutError(None, "/x", "read timed out")  # type: ignore[arg-type]
    assert classify(timed_out, "get x", 2).status is Status.TIMEOUT
    refused = classify(NewConnectionError(None, "refused"), "get x", 2)  # type: ignore[arg-type]
    assert refused.status is Status.ERROR


def test_masking_filter_hides_literal_and_token_shaped_secrets() -> None:
    f = MaskingFilter(["Bearer sekrit-token-123"])
    text = f.mask(
        "auth Bearer sekrit-token-123 then token=abc.def jwt eyJhbGciOi.eyJzdWIiOi.c2ln raw sekrit-token-123"
    )
    assert "sekrit" not in text and "abc.def" not in text and "eyJ" not in text


def test_duration_and_size_parsing() -> None:
    assert duration("90") == 90 and duration("30m") == 1800 and duration("1h30m") == 5400
    assert size("64Mi") == 64 << 20 and size("512Ki") == 512 << 10
    for bad in ("", "-5", "5x"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration(bad)


def _item(path: str, peer: PodRef | None = None) -> Item:
    return Item(
        step="t",
        path=path,
        input=Input.ISTIOD_PROXY_CONFIG,
        source=Source(SourceKind.PORT_FORWARD, "GET /x"),
        action="x",
        peer=peer,
    )


def test_not_connected_404_is_fine_only_when_another_replica_served() -> None:
    zt = PodRef(Component.ZTUNNEL, "istio-system", "ztunnel-a", "n1")
    other = PodRef(Component.ZTUNNEL, "istio-system", "ztunnel-b", "n2")
    m = Manifest(command=["ztbundle"], context="c", options={}, istio_namespace="istio-system")
    ok = Artifact(_item("istiod/i1/proxy/ztunnel-a.json", zt), Status.OK, None, True, 2, "0" * 64, None, None)
    nc = "HTTP 404 Not Found: Proxy not connected to this Pilot instance"
    m.record(ok)
    m.record(
        Artifact(_item("istiod/i2/proxy/ztunnel-a.json", zt), Status.ERROR, nc, True, 5, "1" * 64, None, None)
    )
    assert m.complete
    m.record(
        Artifact(
            _item("istiod/i2/proxy/ztunnel-b.json", other), Status.ERROR, nc, True, 5, "2" * 64, None, None
        )
    )
    assert not m.complete and [a.item.path for a in m.missing()] == ["istiod/i2/proxy/ztunnel-b.json"]
    doc = json.loads(m.render())
    jsonschema.validate(doc, layout.manifest_schema())
    assert doc["complete"] is False and len(doc["artifacts"]) == 3



def test_manifest_render_refuses_what_the_schema_rejects_and_jsonschema_names_it() -> None:
    """The compiled check only accepts; a rejected manifest still fails with jsonschema's explanation."""
    zt = PodRef(Component.ZTUNNEL, "istio-system", "ztunnel-a", "n1")
    m = Manifest(command=["ztbundle"], context="c", options={}, istio_namespace="istio-system")
    m.record(Artifact(_item("../escape.json", zt), Status.OK, None, True, 2, "0" * 64, None, None))
    with pytest.raises(jsonschema.ValidationError) as err:
        m.render()
    assert list(err.value.absolute_path)[:1] == ["artifacts"] and "../escape.json" in err.value.message

def test_bundle_writer_streams_to_partial_then_renames_0600(tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    w = BundleWriter(out)
    w.add("cluster/nodes.json", b"{}")
    assert w.partial.exists() and not out.exists()
    assert w.finish(layout.MANIFEST, b"{}\n") == out
    assert not w.partial.exists() and stat.S_IMODE(out.stat().st_mode) == 0o600
    with tarfile.open(out) as tar:
        assert tar.getnames() == ["cluster/nodes.json", layout.MANIFEST]
        member = tar.extractfile("cluster/nodes.json")
        assert member is not None and io.BytesIO(member.read()).getvalue() == b"{}"


def test_large_body_spills_to_disk_with_digest_computed_on_the_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 1 MiB, with the run's memory budget taken, a body goes to disk."""
    import hashlib

    from collector import body as body_module
    from collector.body import SPOOL_BYTES, Body, Budget

    monkeypatch.setattr(body_module, "MEMORY", Budget(0))
    body = Body()
    data = b"z" * (SPOOL_BYTES + 10)
    for i in range(0, len(data), 4096):
        body.write(data[i : i + 4096])
    assert body.size == len(data) and body.sha256 == hashlib.sha256(data).hexdigest()
    assert not body.in_memory  # on disk
    assert body.read_bytes() == data
    body.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(1, 300_000).map(lambda n: ("write", n)), st.sampled_from([("read", 0)])),
        min_size=1,
        max_size=40,
    )
)
def test_a_spooled_body_reads_back_what_was_written_whatever_the_order_of_writes_and_reads(
    ops: list[tuple[str, int]],
) -> None:
    """On disk, writes are batched a MiB at a time: every read path still sees every byte written."""
    import hashlib

    from collector import body as body_module
    from collector.body import Body, Budget

    saved, body_module.MEMORY = body_module.MEMORY, Budget(0)
    try:
        body, written = Body(), bytearray()
        for op, n in ops:
            if op == "write":
                chunk = bytes([len(written) % 251]) * n
                body.write(chunk if n % 2 else memoryview(chunk))
                written += chunk
            else:
                assert body.sha256 == hashlib.sha256(written).hexdigest()
        assert body.read_bytes() == written and b"".join(body.parts()) == written
        assert body.rewound().read() == written and body.size == len(written)
        rebuilt = Body.joined([memoryview(bytes(written))[:7], memoryview(bytes(written))[7:]])
        assert rebuilt.read_bytes() == written and rebuilt.sha256 == hashlib.sha256(written).hexdigest()
        rebuilt.close()
        body.close()
    finally:
        body_module.MEMORY = saved


def test_a_spooled_body_survives_short_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """pwritev may write less than it was given; the rest is written, nothing twice, nothing lost."""
    import os

    from collector import body as body_module
    from collector.body import SPOOL_BYTES, Body, Budget

    monkeypatch.setattr(body_module, "MEMORY", Budget(0))
    real = os.pwritev
    monkeypatch.setattr(
        body_module.os, "pwritev", lambda fd, bufs, at: real(fd, [memoryview(b"".join(bufs))[:7001]], at)
    )
    data = bytes(range(256)) * (3 * SPOOL_BYTES // 256)
    body = Body()
    for i in range(0, len(data), 29_000):
        body.write(memoryview(data)[i : i + 29_000])
    assert body.read_bytes() == data and body.pread(5, 70_000) == data[5:70_000]
    body.close()


def test_large_bodies_stay_in_memory_within_the_budget_and_give_it_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from collector import body as body_module
    from collector.body import SPOOL_BYTES, Body, Budget

    budget = Budget(8 << 20)
    monkeypatch.setattr(body_module, "MEMORY", budget)
    chunk = b"z" * (1 << 20)
    first, second = Body(), Body()
    for _ in range(6):
        first.write(chunk)  # 5 MiB past the first: within the 8 MiB budget
    assert first._file is None and 5 << 20 <= budget.used <= 8 << 20
    for _ in range(6):
        second.write(chunk)  # the budget has no room for a second one: on disk
    assert second._file is not None and second.read_bytes() == chunk * 6
    rebuilt = Body.joined([first.read_bytes()[:SPOOL_BYTES], b"x" * (4 << 20)], source=first)
    first.close()
    assert rebuilt._file is None and budget.used > 0  # the source's share passed on, not freed
    assert rebuilt.read_bytes() == chunk + b"x" * (4 << 20)
    rebuilt.close()
    second.close()
    assert budget.used == 0


def test_merged_list_writes_one_head_when_pages_are_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """A selective List may page through empty pages; the merged List still has one head, valid JSON."""
    from types import SimpleNamespace

    from collector import context

    pages = [
        {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"continue": "a", "resourceVersion": "7"},
            "items": [],
        },
        {"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "b"}, "items": [{"n": 1}, {"n": 2}]},
        {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []},
        {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [{"n": 3}]},
    ]
    monkeypatch.setattr(context, "list_pages", lambda *a, **k: iter(pages))
    options = SimpleNamespace(timeout_s=1.0, max_bytes=1 << 20)
    ctx = context.StepContext(SimpleNamespace(options=options), SimpleNamespace(get=lambda: None))  # type: ignore[arg-type]
    merged = json.loads(ctx.list_merged("/api/v1/pods").read_bytes())
    assert merged == {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "7"},
        "items": [{"n": 1}, {"n": 2}, {"n": 3}],
    }
