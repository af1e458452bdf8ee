"""Load a `Scenario` from a plain dict (e.g. YAML), converting nested dicts into the typed dataclasses.

Shape: the keyword arguments of `scenario.build()` plus `ztunnels`/`istiod` (node → override dict)
and `rbac` (list of rule dicts). Pods may give `app`/`workload` instead of a full name:

    {"name": "mini", "nodes": ["n1"], "namespaces": [{"name": "shop", "labels": {...}}],
     "pods": [{"namespace": "shop", "workload": "cart", "node": "n1"}],
     "ztunnels": {"n1": {"drift": {"missing_workloads": ["shop/cart-..."]}}}}
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from tests.fakecluster import scenario as sc


def _convert(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if value is None:
        return None
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
        return _dataclass(tp, value)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    if tp is timedelta:
        return value if isinstance(value, timedelta) else timedelta(seconds=float(value))
    if tp is datetime:
        return (
            value
            if isinstance(value, datetime)
            else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        )
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v) for v in value)
        return tuple(value)
    if origin is frozenset:
        return frozenset(value)
    if origin in (Mapping, dict, typing.Mapping, __import__("collections.abc").abc.Mapping):
        key_t, val_t = args if args else (Any, Any)
        return {_convert(key_t, k): _convert(val_t, v) for k, v in value.items()}
    return value


def _dataclass(cls: Any, data: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls, vars(sc))
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    return cls(**{k: _convert(hints[k], v) for k, v in data.items()})


def _pod(data: Mapping[str, Any]) -> sc.Pod:
    if "name" in data:
        return typing.cast(sc.Pod, _dataclass(sc.Pod, data))
    rest = dict(data)
    namespace, workload = rest.pop("namespace"), rest.pop("workload")
    hints = typing.get_type_hints(sc.Pod, vars(sc))
    extra = {k: _convert(hints[k], v) for k, v in rest.items() if k in hints}
    for key in ("app", "version", "service_account", "port"):
        if key in rest:
            extra[key] = rest[key]
    return sc.app_pod(namespace, workload, **extra)


def scenario_from_dict(data: Mapping[str, Any]) -> sc.Scenario:
    """Build a Scenario from a dict; raises ValueError naming the offending key."""
    d = dict(data)
    namespaces = [
        sc.Namespace(n) if isinstance(n, str) else typing.cast(sc.Namespace, _dataclass(sc.Namespace, n))
        for n in d.pop("namespaces", [])
    ]
    pods = [_pod(p) for p in d.pop("pods", [])]
    services = [typing.cast(sc.Service, _dataclass(sc.Service, s)) for s in d.pop("services", [])]
    policies = [typing.cast(sc.Policy, _dataclass(sc.Policy, p)) for p in d.pop("policies", [])]
    ztunnels = {k: _dataclass(sc.ZtunnelOverride, v) for k, v in d.pop("ztunnels", {}).items()}
    istiod = {k: _dataclass(sc.IstiodOverride, v) for k, v in d.pop("istiod", {}).items()}
    rbac = d.pop("rbac", None)
    if "now" in d:
        d["now"] = _convert(datetime, d["now"])
    scn = sc.build(
        d.pop("name", "custom"),
        nodes=d.pop("nodes", 1),
        namespaces=namespaces,
        pods=pods,
        services=services,
        policies=policies,
        **d,
    )
    rules = tuple(_dataclass(sc.RbacRule, r) for r in rbac) if rbac is not None else None
    return scn.with_overrides(ztunnels=ztunnels, istiod=istiod, rbac=rules)
