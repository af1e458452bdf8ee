"""The compiled manifest check accepts only what jsonschema accepts."""

from __future__ import annotations

import copy
import json
import random
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

from analyzer.bundle import schema_accepts
from ztbundle import layout

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
VALUES: list[Any] = [
    True, False, 0, 1, -1, 1.0, 2.5, 10**20, "", "x", "a/b", "../x", "ztunnel/../x", "2026-02-30T00:00:00Z",
    None, [], {}, {"x": 1}, [1], ["x"],
]  # fmt: skip


def _paths(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*at, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:4]):
            yield from _paths(value, (*at, i))


def test_every_mutated_manifest_the_fast_check_accepts_jsonschema_accepts() -> None:
    validator = jsonschema.Draft202012Validator(layout.manifest_schema())
    rnd = random.Random(17)
    accepted = rejected = 0
    for sample in sorted(SAMPLES.glob("*.tar.gz")):
        with tarfile.open(sample) as tar:
            if layout.MANIFEST not in tar.getnames():
                continue  # an istioctl bug-report has no manifest
            doc = json.loads(tar.extractfile(layout.MANIFEST).read())  # type: ignore[union-attr]
        assert schema_accepts(doc) and validator.is_valid(doc)
        spots = [p for p in _paths(doc) if p]
        for _ in range(600):
            mutated = copy.deepcopy(doc)
            *parents, last = rnd.choice(spots)
            target = mutated
            for key in parents:
                target = target[key]
            if isinstance(target, dict) and rnd.random() < 0.2:
                del target[last]
            else:
                target[last] = rnd.choice(VALUES)
            fast = schema_accepts(mutated)
            assert not fast or validator.is_valid(mutated), (parents, last, target[last])
            accepted += fast
            rejected += not fast
    assert accepted and rejected  # both verdicts were exercised
