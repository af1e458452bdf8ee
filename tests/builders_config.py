"""Configuration objects for YAML rule cases: raw Kubernetes objects parsed by the real parser.

    config: [{kind, metadata: {name, namespace?, labels?}, spec?, status?}]   (any collected kind)
    pod_metrics: {ns/pod: {container: "450Mi"}}
    istiod_env: {NAME: value | null}      (istiod's Deployment env; null = set from a ConfigMap)

`kind` picks the bundle path and parser exactly as `analyzer.parse.config.config_set` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from analyzer.model import Bundle, ConfigSet
from analyzer.model.tracking import untracked
from analyzer.parse import config as parse
from ztbundle import layout


def _docs(given: Mapping[str, Any]) -> dict[str, Any]:
    by_path: dict[str, list[Any]] = {}
    kinds = {r.kind: r for r in layout.CONFIG_RESOURCES}
    for obj in given.get("config") or ():
        by_path.setdefault(kinds[obj["kind"]].path, []).append(obj)
    metrics = kinds["PodMetrics"].path
    for ref, containers in (given.get("pod_metrics") or {}).items():
        ns, _, name = str(ref).partition("/")
        usage = [{"name": c, "usage": {"cpu": "1m", "memory": m}} for c, m in containers.items()]
        by_path.setdefault(metrics, []).append(
            {"metadata": {"name": name, "namespace": ns}, "window": "15s", "containers": usage}
        )
    if "istiod_env" in given:
        env = [
            {"name": k} | ({"value": v} if v is not None else {"valueFrom": {}})
            for k, v in given["istiod_env"].items()
        ]
        by_path[layout.ISTIO_DEPLOYMENTS] = [
            {
                "metadata": {"name": "istiod", "namespace": "istio-system"},
                "spec": {
                    "template": {
                        "metadata": {"labels": {"app": "istiod"}},
                        "spec": {"containers": [{"name": "discovery", "env": env}]},
                    }
                },
            }
        ]
    return {path: {"items": objs} for path, objs in by_path.items()}


def with_config(bundle: Bundle, given: Mapping[str, Any]) -> Bundle:
    """The bundle with the case's configuration objects loaded as `analyzer.load` would."""
    docs = _docs(given)
    if not docs:
        return bundle
    from contextlib import nullcontext

    found: ConfigSet = parse.config_set(docs.get, lambda _path: nullcontext())
    values = {f.name: untracked(bundle, f.name) for f in dataclasses.fields(bundle)}
    values.update(config=found, _index={})
    return Bundle(**values)
