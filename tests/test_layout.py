"""The bundle contract's readers invert its writers: log paths, istiod members, dump cut points."""

from __future__ import annotations

import json

import pytest

from ztbundle import layout
from ztbundle.layout import Component, PodLog


@pytest.mark.parametrize(
    "log",
    [
        PodLog(Component.ZTUNNEL, "", "ztunnel-x7k2p", "istio-proxy", False),
        PodLog(Component.ISTIOD, "", "istiod-6d9f-abcde", "discovery", True),
        PodLog(Component.CNI, "", "istio-cni-node-q2w3e", "install-cni", False),
        PodLog(Component.WAYPOINT, "shop", "waypoint-5c7b-z9x8w", "istio-proxy", True),
    ],
    ids=lambda log: f"{log.component.value}-{'previous' if log.previous else 'current'}",
)
def test_parse_pod_log_inverts_pod_log(log: PodLog) -> None:
    path = layout.pod_log(log.component, log.namespace, log.pod, log.container, previous=log.previous)
    assert layout.parse_pod_log(path) == log


@pytest.mark.parametrize(
    "path",
    [
        "ztunnel/ztunnel-a/config_dump.json",
        "ztunnel/ztunnel-a/logs/istio-proxy.txt",
        "waypoint/waypoint-a/logs/istio-proxy.log",  # a waypoint log names its namespace
        "sidecar/p/logs/c.log",
        "istiod/istiod-a/proxy/ztunnel-a.json",
    ],
)
def test_parse_pod_log_rejects_other_members(path: str) -> None:
    assert layout.parse_pod_log(path) is None


def test_parse_istiod_member_names_the_replica_of_every_debug_member_but_not_its_logs() -> None:
    assert layout.parse_istiod_member(layout.istiod_syncz("istiod-a")) == "istiod-a"
    assert layout.parse_istiod_member(layout.istiod_proxy_policies("istiod-b", "ztunnel-a")) == "istiod-b"
    log = layout.pod_log(Component.ISTIOD, "", "istiod-a", "discovery", previous=False)
    assert layout.parse_istiod_member(log) is None
    assert layout.parse_istiod_member(layout.ztunnel_config_dump("ztunnel-a")) is None


def test_top_level_keys_finds_only_the_top_level_keys_in_bytes_and_text() -> None:
    doc = {"config": {"nested": {"deeper": 1}}, "workloads": [{"uid": "a"}], 'odd "key"': "x\n  y"}
    text = json.dumps(doc, indent=2)
    keys = [json.loads(m.group(1)) for m in layout.top_level_keys(text)]
    assert keys == ["config", "workloads", 'odd "key"']
    assert [m.start() for m in layout.top_level_keys(text.encode())] == [
        m.start() for m in layout.top_level_keys(text)
    ]
    cuts = [m.start() for m in layout.top_level_keys(text)]
    assert all(text.startswith('\n  "', at) for at in cuts)  # each piece starts at its key's line
    assert list(layout.top_level_keys(json.dumps(doc))) == []  # compact JSON has no cut points


def test_top_level_keys_stops_at_end() -> None:
    text = json.dumps({"a": 1, "b": 2, "c": 3}, indent=2)
    stop = text.index('"c"')
    assert [m.group(1) for m in layout.top_level_keys(text, stop)] == ['"a"', '"b"']
