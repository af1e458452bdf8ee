"""The fake cluster at benchmark scale: valid addresses past 255 nodes, and bounded, byte-exact caches."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import threading
import time
from types import SimpleNamespace

import pytest

from tests.fakecluster import payloads, scenarios, wsframes
from tests.fakecluster.admin import Closed, Pieces, Response, deliver
from tests.fakecluster.faults import Fault, FaultKind
from tests.fakecluster.memo import once_cache
from tests.fakecluster.scenario import Role, Scenario
from tests.fakecluster.server import FRAME, PortForwardSession


@pytest.fixture(scope="module")
def wide() -> Scenario:
    """More nodes than one /24-per-node octet can number (the 1,000-node benchmark hit this)."""
    return scenarios.synthetic(nodes=300, pods_per_node=1).with_overrides(istio_version="1.24.2")


def test_addresses_stay_valid_and_distinct_past_255_nodes(wide: Scenario) -> None:
    pod_ips = [p.ip for p in wide.pods if p.ip is not None and not p.host_network]
    node_ips = [n.ip for n in wide.nodes]
    for ip in pod_ips + node_ips:
        ipaddress.ip_address(ip)  # raises on 10.244.256.x
    assert len(set(pod_ips)) == len(pod_ips)
    assert len(set(node_ips)) == len(node_ips)
    for node in wide.nodes:
        cidr = ipaddress.ip_network(node.pod_cidr)
        on_node = [p.ip for p in wide.pods_on(node.name) if p.ip is not None and not p.host_network]
        assert all(ipaddress.ip_address(ip) in cidr for ip in on_node), node.name


def test_first_256_nodes_keep_their_addresses(wide: Scenario) -> None:
    # Goldens and samples were written with these numbers; only nodes 256+ may move.
    assert wide.nodes[0].ip == "172.18.0.2" and wide.nodes[0].pod_cidr == "10.244.0.0/24"
    assert wide.nodes[255].pod_cidr == "10.244.255.0/24"
    assert wide.nodes[256].pod_cidr == "10.245.0.0/24" and wide.nodes[256].ip == "172.18.1.2"


def test_istiod_view_renders_past_255_nodes(wide: Scenario) -> None:
    zt = max(wide.pods_by_role(Role.ZTUNNEL), key=lambda p: p.node or "")
    dump = payloads.istiod_config_dump(wide, zt.node or "", None)
    assert len(dump["configs"]) > 300


# --- byte-exact delivery of shared pieces --------------------------------------------------------


class _Sink:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))


def _session() -> tuple[PortForwardSession, _Sink]:
    sink = _Sink()
    session = PortForwardSession.__new__(PortForwardSession)  # framing needs only the socket and lock
    session.h = SimpleNamespace(wfile=sink)  # type: ignore[assignment]
    session.lock = threading.Lock()
    return session, sink


@pytest.mark.parametrize(
    "sizes",
    [(0,), (5,), (FRAME,), (FRAME - 1, 1), (FRAME + 1,), (3, FRAME * 2, 0, 7), (10, 3 * FRAME - 10)],
)
def test_port_forward_frames_pieces_as_one_buffer(sizes: tuple[int, ...]) -> None:
    """Pieces are framed exactly as their concatenation was: FRAME bytes per frame, channel byte first."""
    pieces = [bytes([65 + i % 26]) * n for i, n in enumerate(sizes)]
    whole = b"".join(pieces)
    expected = [
        wsframes.frame(wsframes.OP_BINARY, bytes([4]) + whole[i : i + FRAME])
        for i in range(0, max(len(whole), 1), FRAME)
    ]
    session, sink = _session()
    session.send_channel(4, *pieces)
    assert sink.writes == expected


@pytest.mark.parametrize(
    "kind",
    [None, FaultKind.TRUNCATED_JSON, FaultKind.CLOSE_MID_BODY, FaultKind.HUGE_BODY, FaultKind.HTTP_500],
)
def test_pieces_deliver_the_bytes_of_their_concatenation(kind: FaultKind | None) -> None:
    parts = (b'{\n  "a": ', b"[1, 2, 3]" * 1000, b',\n  "b": 2\n}')
    faults = [] if kind is None else [Fault(kind, size_mb=0.1)]

    def served(body: bytes | Pieces) -> bytes:
        out = bytearray()
        with contextlib.suppress(Closed):
            deliver(
                lambda *p: out.extend(b"".join(p)),
                Response(200, body, "application/json"),
                faults,
                threading.Event(),
            )
        return bytes(out)

    assert served(Pieces(parts)) == served(b"".join(parts))
    assert b"Content-Length" in served(Pieces(parts)) or kind is FaultKind.HUGE_BODY


def test_ztunnel_dump_pieces_share_the_mesh_between_nodes(wide: Scenario) -> None:
    a, b = (payloads.ztunnel_config_dump_pieces(wide, n.name) for n in wide.nodes[:2])
    shared = {id(p) for p in a} & {id(p) for p in b}
    assert len(shared) == 3  # workloads, services, policies: one object, not a copy per node
    assert json.loads(b"".join(a))["config"]["localNode"] == wide.nodes[0].name


def test_once_cache_computes_a_miss_once_for_concurrent_callers() -> None:
    calls: list[int] = []
    gate = threading.Event()

    @once_cache(maxsize=4)
    def render(key: int) -> bytes:
        calls.append(key)
        gate.wait(0.2)  # a slow render: the other threads arrive while it runs
        return b"x" * key

    threads = [threading.Thread(target=render, args=(3,)) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.05)  # let every thread reach the cache while the first render runs
    gate.set()
    for t in threads:
        t.join()
    assert calls == [3] and render(3) == b"xxx"
