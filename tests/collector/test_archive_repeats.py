"""The writer steps over pieces it stored before (`BundleWriter._repeats`) and cuts where a full pass cuts.

Every ztunnel's dump repeats the mesh's big sections; searching each for top-level keys again is a regex
pass over every byte. Stepping over a repeated piece must leave the cut points, and so every recipe,
exactly as `cut_points` alone computes them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from collector.archive import BundleWriter, cut_points
from collector.body import Body
from ztbundle.layout import Input

MESH = {f"uid-{i}": {"name": f"pod-{i}", "ip": f"10.0.{i // 250}.{i % 250}"} for i in range(2000)}


def _pretty(doc: object) -> bytes:
    return json.dumps(doc, indent=2).encode() + b"\n"


def test_repeated_pieces_are_stepped_over_with_the_same_cuts(tmp_path: Path) -> None:
    writer = BundleWriter(tmp_path / "b.tar.gz")
    steps: list[int] = []

    def seen(data: bytes, at: int) -> int:
        stop = writer._repeats(data, at)
        steps.append(stop - at)
        return stop

    pad = "x" * 300  # the config is a piece of its own, as a real ztunnel's is

    def dump(node: str, **extra: object) -> bytes:
        return _pretty({"config": {"node": node, "pad": pad}, "services": MESH, "workloads": MESH, **extra})

    merged = dump("c", zz=1)  # its last key's cut is merged away: the workloads piece holds `zz`
    bodies = [
        dump("a"),
        dump("b"),  # services and workloads repeat a's
        merged,  # services repeats
        merged
        + b'\n  "q": "'
        + b"y" * 300
        + b'"\n}\n',  # the merged piece again, then more: `zz` must be cut here
        dump("d"),  # services repeats
        dump("e", zz=1) + b"\n",  # services repeats
        json.dumps(MESH).encode(),  # compact: one piece
        json.dumps(MESH).encode(),  # repeats
    ]
    try:
        for i, data in enumerate(bodies):
            stepped = cut_points(data, functools.partial(seen, data))
            assert stepped == cut_points(data), f"body {i}"
            writer.put(f"ztunnel/n{i}/config_dump.json", Body.of(data), Input.ZTUNNEL_CONFIG)
    finally:
        writer.abort()
    assert sum(1 for n in steps if n > 0) == 7  # services of b to e, workloads of b, the compact body
