"""kubectl's YAML Lists: only wanted kinds are parsed, each item checked, times kept as strings."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.bugreport import kube
from analyzer.errors import BundleError

LIST = """\
apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    creationTimestamp: "2026-01-01T10:00:00Z"
    name: ztunnel-a
    namespace: istio-system
  status:
    startTime: 2026-01-01T10:00:01Z
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: old
    namespace: default
  spec: {this is: [not, even, valid YAML
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: istio
    namespace: istio-system
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: app-settings
    namespace: default
kind: List
metadata:
  resourceVersion: ""
"""


def _keep(kind: str, namespace: str | None) -> bool:
    return kind == "Pod" or (kind == "ConfigMap" and namespace == "istio-system")


def test_only_wanted_items_are_parsed_and_times_stay_strings() -> None:
    items = kube.load_list(Path("b.tgz"), "cluster/k8s-resources", LIST.encode(), 64, _keep)
    assert [(i["kind"], i["metadata"]["name"]) for i in items] == [
        ("Pod", "ztunnel-a"),
        ("ConfigMap", "istio"),
    ]
    assert items[0]["status"]["startTime"] == "2026-01-01T10:00:01Z"  # unquoted, still a string as in JSON


def test_an_alias_inside_one_item_is_refused() -> None:
    text = LIST.replace("  status:\n", "  spec: &s {a: 1}\n  extra: *s\n  status:\n")
    with pytest.raises(BundleError, match="YAML aliases are not allowed"):
        kube.load_list(Path("b.tgz"), "cluster/k8s-resources", text.encode(), 64, _keep)


def test_a_broken_wanted_item_names_its_line_in_the_member() -> None:
    text = LIST.replace("    name: istio\n", "    name: [istio\n")
    with pytest.raises(BundleError, match=r"cluster/k8s-resources: invalid YAML at line 21 column"):
        kube.load_list(Path("b.tgz"), "cluster/k8s-resources", text.encode(), 64, _keep)


def test_a_member_with_too_many_mappings_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube, "MAX_CONTAINERS", 1000)
    bomb = b"apiVersion: v1\nitems:\n" + b"- {}\n" * 1001 + b"kind: List\n"
    with pytest.raises(BundleError, match="YAML holds more than 1000 mappings and lists"):
        kube.load_list(Path("b.tgz"), "cluster/k8s-resources", bomb, 64, _keep)
    assert kube.load_list(Path("b.tgz"), "cluster/k8s-resources", LIST.encode(), 64, _keep)  # under it
