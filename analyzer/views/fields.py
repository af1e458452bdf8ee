"""Field-level differences between two normalized xDS entries, said in ztunnel's terms.

`service port mapping 9080→8080`, `address 10.244.1.7`, `protocol: 'HBONE' → 'TCP'`: what changed,
not the diff library's paths. Two bundles read `old → new`; istiod against a ztunnel names each
side (`istiod 'HBONE', ztunnel 'TCP'`), so nobody has to guess which side is which.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

NOUNS = {
    "ips": "address",
    "vips": "VIP",
    "cidr_vips": "CIDR VIP",
    "ports": "service port mapping",
    "endpoints": "endpoint",
    "services": "service",
    "subject_alt_names": "subject alt name",
    "authorization_policies": "authorization policy",
    "rules": "rule",
}


def _ports(pairs: Any) -> str:
    return ", ".join(f"{p}→{t}" for p, t in pairs)


def _item(field: str, value: Any) -> str:
    if field == "ports" and isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{value[0]}→{value[1]}"
    if field == "endpoints" and isinstance(value, (list, tuple)) and len(value) == 2:
        uid, ports = value
        return f"{uid} ({_ports(ports)})" if ports else str(uid)
    return str(value)


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def lines(old: Any, new: Any, ignore: Iterable[str] = (), sides: tuple[str, str] | None = None) -> list[str]:
    """What differs between two entries of one dataclass type, one line per fact.

    Without `sides` the lines read old → new (`added`/`removed`); with `sides=("istiod", "ztunnel")`
    each value is labelled with the side that holds it.
    """
    skip = set(ignore)
    a, b = dataclasses.asdict(old), dataclasses.asdict(new)
    out: list[str] = []
    for name in a:
        if name in skip or a[name] == b.get(name):
            continue
        x, y = a[name], b.get(name)
        noun = NOUNS.get(name, name.replace("_", " "))
        if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
            xs, ys = [_freeze(v) for v in x], [_freeze(v) for v in y]
            gone = [v for v in xs if v not in ys]
            came = [v for v in ys if v not in xs]
            if not gone and not came:
                continue  # same entries in another order
            for v in gone:
                out.append(f"{noun} {_item(name, v)}: " + (f"{sides[0]} only" if sides else "removed"))
            for v in came:
                out.append(f"{noun} {_item(name, v)}: " + (f"{sides[1]} only" if sides else "added"))
        elif sides:
            out.append(f"{noun}: {sides[0]} {x!r}, {sides[1]} {y!r}")
        else:
            out.append(f"{noun}: {x!r} → {y!r}")
    return out
