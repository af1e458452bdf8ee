"""The JSON redactor's fast paths give the same result as the slow ones (collector CPU).

Two shortcuts: strings skip the text patterns when the raw bytes show no way for them to match
(`collector.redact_json`), and a pretty-printed dump re-serialises only the top-level members it
changed (`collector.redact`).
"""

from __future__ import annotations

import json
from typing import Any

from collector import redact, redact_json, redact_text
from collector.body import Body
from collector.redact_text import Reason

JWT = "eyJhbGciOiJSUzI1NiJ9.YWJjZGVmZ2hpams.c2lnbmF0dXJlc2ln"


def _dump(**extra: Any) -> dict[str, Any]:
    return {
        "config": {"xdsHeaders": [["authorization", "s3cr3t-t0ken-value"]], "region": "eu"},
        "workloads": {f"uid-{i}": {"name": f"pod-{i}", "ip": f"10.0.0.{i}", "w": 0.5} for i in range(40)},
        "certificates": [],
        **extra,
    }


def _redact(data: bytes) -> tuple[bytes, set[tuple[Reason, str | None]]]:
    out = redact.redact_body("ztunnel/z/config_dump.json", Body.of(data), is_json=True)
    assert out.body is not None
    return out.body.read_bytes(), {(r.rule, r.field) for r in out.redactions}


def _full(doc: dict[str, Any]) -> bytes:
    """What the redactor stored before the splice: the whole redacted document re-serialised."""
    redacted, _ = redact_json.redact_document(json.loads(json.dumps(doc)))
    return json.dumps(redacted, indent=2, ensure_ascii=False).encode() + b"\n"


def test_splice_equals_full_reserialisation_of_a_pretty_dump() -> None:
    doc = _dump()
    stored, rules = _redact(json.dumps(doc, indent=2).encode() + b"\n")
    assert stored == _full(doc)
    assert rules == {(Reason.XDS_HEADERS, "config.xdsHeaders")}
    assert b"s3cr3t" not in stored


def test_untouched_members_keep_their_received_bytes() -> None:
    # serde writes floats its own way; only the redacted member may change form.
    text = json.dumps(_dump(), indent=2).replace('"w": 0.5', '"w": 5E-1')
    stored, _ = _redact(text.encode())
    assert stored.count(b'"w": 5E-1') == 40
    assert json.loads(stored)["config"]["xdsHeaders"] == [["authorization", "[REDACTED:xds-headers]"]]


def test_splice_of_the_last_member_drops_no_brace_or_comma() -> None:
    doc = {"workloads": {"a": 1}, "config": {"xdsHeaders": [["k", "secret-value-1"]]}}
    stored, _ = _redact(json.dumps(doc, indent=2).encode())
    assert stored == _full(doc).rstrip(b"\n")


def test_compact_and_odd_layouts_fall_back_to_full_reserialisation() -> None:
    doc = _dump()
    compact = json.dumps(doc, separators=(",", ":")).encode()
    stored, _ = _redact(compact)
    assert stored == json.dumps(redact_json.redact_document(doc)[0], separators=(",", ":")).encode()
    # A duplicate key: json keeps the last, the member scan sees two, so no splice is attempted.
    dup = json.dumps(_dump(), indent=2).replace('\n  "certificates": []', '\n  "region": 1,\n  "region": 2')
    stored, _ = _redact(dup.encode())
    assert json.loads(stored)["region"] == 2 and b"s3cr3t" not in stored


def test_text_patterns_still_reach_strings_hidden_by_escapes() -> None:
    # `\u0065yJ` decodes to `eyJ`: no trigger in the raw bytes, yet the decoded string is a JWT.
    text = json.dumps(_dump(note=JWT), indent=2).replace('"eyJ', '"\\u0065yJ', 1)
    assert b"eyJhbGci" not in text.encode()
    stored, rules = _redact(text.encode())
    assert (Reason.JWT, "note") in rules and "eyJhbGci" not in stored.decode()


def test_text_patterns_still_reach_non_ascii_whitespace() -> None:
    # str `\s` matches a no-break space; the byte trigger does not, so non-ASCII bodies take the slow path.
    stored, rules = _redact(json.dumps(_dump(note="Bearer\u00a0abcdefgh12345"), ensure_ascii=False).encode())
    assert (Reason.BEARER, "note") in rules and "abcdefgh12345" not in stored.decode()


def test_plain_ascii_strings_are_not_scanned_but_structure_still_is() -> None:
    doc = _dump(spec={"containers": [{"env": [{"name": "API_TOKEN", "value": "hunter2hunter2"}]}]})
    stored, rules = _redact(json.dumps(doc, indent=2).encode())
    assert (Reason.ENV, "spec.containers[].env[API_TOKEN]") in rules
    assert b"hunter2" not in stored and stored == _full(doc).rstrip(b"\n")


def test_structure_only_walk_finds_what_the_full_walk_finds() -> None:
    # No string here can match a text pattern, so both walks must agree on every structural field.
    def doc() -> dict[str, Any]:
        return {
            "items": [
                {"kind": "ConfigMap", "data": {"password": "p4ss", "mode": "x"}},
                {"metadata": {"annotations": {redact_text.LAST_APPLIED: "{}", "a": "b"}}},
                [[{"proxyMetadata": {"ISTIO_META_TOKEN": "t0k", "DNS": "true"}}]],
                {"spec": {"containers": [{"env": [{"name": "DB_SECRET", "value": "v4lue"}, "odd"]}]}},
            ],
            "caHeaders": {"authorization": "abc"},
        }

    full, full_counts = redact_json.redact_document(doc())
    fast, fast_counts = redact_json.redact_document(doc(), texts=False)
    assert fast == full and fast_counts == full_counts and len(full_counts) == 5
