"""Decode both sides' xDS into one comparable representation (`analyzer.model.xds` entries).

ztunnel's `/config_dump` (`ztunnel`) and istiod's proto JSON (`proto`) become the same frozen
`Workload` / `XdsService` / `Policy`; `intern` hashes and shares identical entries. Equal state →
equal objects → equal hashes. Comparing two states is `analyzer.model.drift`'s job.
"""

from __future__ import annotations

from analyzer.xds.common import canon_ip, net_ip, split_net
from analyzer.xds.intern import Interner, content_hash, raw_key, state_from
from analyzer.xds.proto import (
    decode_ip,
    policy_from_proto,
    proto_workload_ports,
    service_from_proto,
    workload_from_proto,
)
from analyzer.xds.ztunnel import policy_from_ztunnel, service_from_ztunnel, workload_from_ztunnel

__all__ = [
    "Interner",
    "canon_ip",
    "content_hash",
    "decode_ip",
    "net_ip",
    "policy_from_proto",
    "policy_from_ztunnel",
    "proto_workload_ports",
    "raw_key",
    "service_from_proto",
    "service_from_ztunnel",
    "split_net",
    "state_from",
    "workload_from_proto",
    "workload_from_ztunnel",
]
