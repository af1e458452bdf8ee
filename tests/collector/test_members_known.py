"""A big member recognised from the previous body (`members.Known`) splits and digests as a fresh one would.

The run remembers the last big member per key so the next ztunnel's copy costs a memcmp instead of a
regex pass and a sha256; what the split and the digests say must not depend on that memory.
"""

from __future__ import annotations

import json
from typing import Any

from collector import members

BIG = {f"uid-{i}": {"name": f"pod-{i}", "ip": f"10.0.{i // 250}.{i % 250}"} for i in range(2000)}


def _dump(node: str, **extra: Any) -> bytes:
    doc = {"config": {"node": node}, "services": BIG, "workloads": BIG, **extra}
    return json.dumps(doc, indent=2).encode() + b"\n"


def _fresh(data: bytes) -> tuple[list[members.Member] | None, list[bytes | None] | None]:
    read = members.Read(data)
    return read.split, read.digests() if read.split is not None else None


def test_a_repeated_member_is_stepped_over_with_the_same_split_and_digests() -> None:
    known = members.Known()
    for data in (_dump("a"), _dump("b"), _dump("b", zone="z1"), _dump("c")):
        read = members.Read(data, known)
        assert (read.split, read.digests()) == _fresh(data)
    assert known.step(_dump("d"), "workloads", 0, 10) == (0, None)  # nothing remembered runs past `end`


def test_remembered_bytes_not_followed_by_a_newline_are_searched_as_usual() -> None:
    known = members.Known()
    members.Read(_dump("a"), known).digests()
    data = _dump("a")
    split = members.split(data)
    assert split is not None
    services = next(m for m in split if m.key == "services")
    # The remembered bytes, then the member goes on (a space before the next key's newline).
    tampered = data[: services.stop] + b" " + data[services.stop :]
    assert known.step(tampered, "services", services.start, len(tampered)) == (services.start, None)
    read = members.Read(tampered, known)
    assert (read.split, read.digests()) == _fresh(tampered)
    assert read.split is not None and read.split[1].stop == services.stop + 1


def test_a_changed_member_gets_its_own_digest() -> None:
    known = members.Known()
    members.Read(_dump("a"), known).digests()
    other = _dump("a").replace(b'"pod-7"', b'"pod-X"')
    read = members.Read(other, known)
    assert read.digests() == _fresh(other)[1]
