"""The manifest check compiled ahead, on a helper thread, is compiled once and used by every caller."""

from __future__ import annotations

import json
import tarfile
import threading
from pathlib import Path

import fastjsonschema
import pytest

from ztbundle import layout, schema_check

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "bookinfo.tar.gz"


def test_a_check_asked_for_while_it_compiles_ahead_waits_for_that_compile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tarfile.open(SAMPLE) as tar:
        manifest = json.loads(tar.extractfile(layout.MANIFEST).read())  # type: ignore[union-attr]
    monkeypatch.setattr(schema_check, "_CHECK", [])
    entered, release, calls = threading.Event(), threading.Event(), []
    real = fastjsonschema.compile

    def slow_compile(schema: object) -> object:
        calls.append(schema)
        entered.set()
        assert release.wait(10)
        return real(schema)

    monkeypatch.setattr(fastjsonschema, "compile", slow_compile)
    schema_check.compile_ahead()
    assert entered.wait(10)  # the helper is compiling now
    verdicts: list[bool] = []
    caller = threading.Thread(target=lambda: verdicts.append(schema_check.manifest_accepts(manifest)))
    caller.start()
    release.set()
    caller.join(10)
    assert verdicts == [True]
    assert len(calls) == 1
    assert schema_check.manifest_accepts({"not": "a manifest"}) is False
    assert len(calls) == 1
