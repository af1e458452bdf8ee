"""The fake cluster at benchmark scale: valid addresses past 255 nodes, and bounded, byte-exact caches."""

from __future__ import annotations

import ipaddress

import pytest

from tests.fakecluster import payloads, scenarios
from tests.fakecluster.scenario import Role, Scenario


@pytest.fixture(scope="module")
def wide() -> Scenario:
    """More nodes than one /24-per-node octet can number (the 1,000-node benchmark hit this)."""
    return scenarios.synthetic(nodes=300, pods_per_node=1).with_overrides(istio_version="1.24.2")


def test_addresses_stay_valid_and_distinct_past_255_nodes(wide: Scenario) -> None:
    pod_ips = [p.ip for p in wide.pods if p.ip and not p.host_network]
    node_ips = [n.ip for n in wide.nodes]
    for ip in pod_ips + node_ips:
        ipaddress.ip_address(ip)  # raises on 10.244.256.x
    assert len(set(pod_ips)) == len(pod_ips)
    assert len(set(node_ips)) == len(node_ips)
    for node in wide.nodes:
        cidr = ipaddress.ip_network(node.pod_cidr)
        on_node = [p for p in wide.pods if p.node == node.name and p.ip and not p.host_network]
        assert all(ipaddress.ip_address(p.ip) in cidr for p in on_node), node.name


def test_first_256_nodes_keep_their_addresses(wide: Scenario) -> None:
    # Goldens and samples were written with these numbers; only nodes 256+ may move.
    assert wide.nodes[0].ip == "172.18.0.2" and wide.nodes[0].pod_cidr == "10.244.0.0/24"
    assert wide.nodes[255].pod_cidr == "10.244.255.0/24"
    assert wide.nodes[256].pod_cidr == "10.245.0.0/24" and wide.nodes[256].ip == "172.18.1.2"


def test_istiod_view_renders_past_255_nodes(wide: Scenario) -> None:
    zt = max(wide.pods_by_role(Role.ZTUNNEL), key=lambda p: p.node or "")
    dump = payloads.istiod_config_dump(wide, zt.node or "", None)
    assert len(dump["configs"]) > 300
