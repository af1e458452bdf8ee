"""Member-by-member judging and redaction give the whole-body answers, also when a big member repeats.

At scale every ztunnel's dump repeats the mesh's big members byte for byte; `collector.members` lets the
runner and the redactor remember them by digest. A remembered member must change nothing
a user sees: validity, the byte offset of an error, the version, the stored bytes, the redaction records.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector import judge, members, redact, runner
from collector.body import Body
from collector.redact_text import Reason
from collector.runcache import RunCache

JWT = "eyJhbGciOiJSUzI1NiJ9.YWJjZGVmZ2hpams.c2lnbmF0dXJlc2ln"


@pytest.fixture
def cache() -> RunCache:
    """One run's memos: every call in a test shares it, as the calls of one collect run do."""
    return RunCache()


def _mesh(secret: str = "") -> dict[str, Any]:
    """A member well over `members.MEMO_MIN`, like the mesh's workloads."""
    out = {f"uid-{i}": {"name": f"pod-{i}", "ip": f"10.0.{i // 250}.{i % 250}"} for i in range(2000)}
    if secret:
        out["uid-7"]["note"] = secret
    return out


def _dump(node: str, *, mesh: dict[str, Any] | None = None, version: str = "1.24.0") -> bytes:
    doc = {
        "config": {"xdsHeaders": [["authorization", f"token-of-{node}"]], "node": node},
        "workloads": mesh if mesh is not None else _mesh(),
        "version": {"istioVersion": version},
    }
    return json.dumps(doc, indent=2).encode() + b"\n"


def _version(doc: Any) -> str | None:
    return doc["version"]["istioVersion"] if isinstance(doc, dict) and "version" in doc else None


def test_split_finds_every_top_level_member_and_rejects_other_layouts() -> None:
    data = _dump("a")
    split = members.split(data)
    assert split is not None and [m.key for m in split] == ["config", "workloads", "version"]
    assert data[: split[0].start] == b"{" and data[split[-1].stop :] == b"\n}\n"
    assert [json.loads(m.value_text(data) or "") for m in split] == list(json.loads(data).values())
    assert members.split(json.dumps(json.loads(data)).encode()) is None  # compact
    assert members.split(data.replace(b'"version"', b'"config"')) is None  # duplicate key
    assert members.split(b"[\n  1\n]") is None


def test_a_repeated_big_member_is_not_needed_for_validity_or_version(cache: RunCache) -> None:
    first = judge.judge_json(Body.of(_dump("a")), _version, "dump", cache)
    second = judge.judge_json(Body.of(_dump("b", version="1.25.1")), _version, "dump", cache)
    assert first == (None, "1.24.0") and second == (None, "1.25.1")
    assert len(cache.valid_members) == 1  # only the workloads member is big enough to remember


def test_an_invalid_small_member_beside_a_remembered_one_gets_the_whole_body_offset(cache: RunCache) -> None:
    judge.judge_json(Body.of(_dump("a")), None, "dump", cache)
    bad = _dump("b").replace(b'"node": "b"', b'"node": b"')
    problem, _ = judge.judge_json(Body.of(bad), None, "dump", cache)
    whole = bad.decode()
    with pytest.raises(json.JSONDecodeError) as exc:
        json.loads(whole)
    assert problem is not None and problem.startswith(f"invalid JSON at byte {exc.value.pos} ")


def test_repeated_big_members_are_redacted_the_same_every_time(cache: RunCache) -> None:
    mesh = _mesh(secret=f"Bearer {JWT}")
    outs = [
        redact.redact_body(
            f"ztunnel/{n}/config_dump.json", Body.of(_dump(n, mesh=mesh)), is_json=True, cache=cache
        )
        for n in "ab"
    ]
    for node, out in zip("ab", outs, strict=True):
        assert out.body is not None
        stored = out.body.read_bytes()
        assert JWT not in stored.decode() and f"token-of-{node}".encode() not in stored
        doc = json.loads(stored)
        assert doc["config"]["node"] == node and len(doc["workloads"]) == 2000
        assert {(r.rule, r.field) for r in out.redactions} == {
            (Reason.XDS_HEADERS, "config.xdsHeaders"),
            (Reason.JWT, "workloads.uid-7.note"),
        }
    assert len(cache.walked) == 0  # a big replacement is not kept: the memo's memory stays bounded


def test_a_clean_big_member_is_walked_once_beside_a_redacted_small_one(cache: RunCache) -> None:
    outs = [redact.redact_body("d.json", Body.of(_dump(n)), is_json=True, cache=cache) for n in "abc"]
    for node, out in zip("abc", outs, strict=True):
        assert out.body is not None and f"token-of-{node}".encode() not in out.body.read_bytes()
        assert {(r.rule, r.field) for r in out.redactions} == {(Reason.XDS_HEADERS, "config.xdsHeaders")}
    assert [k[0] for k in cache.walked] == ["workloads"]  # remembered, untouched, no text kept


def test_member_path_equals_whole_body_path() -> None:
    data = _dump("a", mesh=_mesh(secret="x"))
    by_member = redact.redact_body("d.json", Body.of(data), is_json=True)
    whole = redact._redact_whole("d.json", Body.of(data), data)
    assert by_member.body is not None and whole.body is not None
    assert by_member.body.read_bytes() == whole.body.read_bytes()
    assert by_member.redactions == whole.redactions


def test_a_clean_body_keeps_its_bytes_and_is_remembered_clean(cache: RunCache) -> None:
    data = json.dumps({"configs": [{"workload": _mesh()}]}).encode()  # compact, like istiod's views
    for _ in range(2):
        body = Body.of(data)
        out = redact.redact_body("istiod/x.json", body, is_json=True, cache=cache)
        assert out.body is body and out.redactions == ()
    assert len(cache.clean_bodies) == 1


def test_two_runs_do_not_share_what_they_remember() -> None:
    """Memos belong to the run that made them: a second run parses its members itself."""
    first, second = RunCache(), RunCache()
    assert judge.judge_json(Body.of(_dump("a")), None, "dump", first) == (None, None)
    assert len(first.valid_members) == 1 and len(second.valid_members) == 0
    redact.redact_body("d.json", Body.of(_dump("a")), is_json=True, cache=first)
    assert len(first.walked) == 1 and len(second.walked) == 0


def test_the_redactor_and_the_runner_keep_no_memo_or_lock_of_their_own() -> None:
    """The run's state is passed in: these modules hold no Memo, RunCache or lock at import."""
    import threading

    from collector import leakscan, redact_text
    from collector.runcache import Memo

    lock_type = type(threading.Lock())
    for module in (redact, redact_text, runner, judge, members, leakscan):
        held = [
            name for name, value in vars(module).items() if isinstance(value, Memo | RunCache | lock_type)
        ]
        assert held == [], (module.__name__, held)
