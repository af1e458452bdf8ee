"""One big JSON parse at a time in a run: the redactor and the validator share the run's lock (peak RSS)."""

from __future__ import annotations

import json
import threading

from collector import judge, redact, redact_text
from collector.body import Body
from collector.runcache import RunCache

DUMP = json.dumps({"config": {"xdsHeaders": [["authorization", "Bearer abcdefghijklmnop"]]}}, indent=2)


def _in_thread(fn: object) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def go() -> None:
        fn()  # type: ignore[operator]
        done.set()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t, done


def test_validating_json_waits_while_the_redactor_holds_the_lock() -> None:
    out: list[tuple[str | None, str | None]] = []
    cache = RunCache()
    with cache.parse_lock:
        t, done = _in_thread(lambda: out.append(judge.judge_json(DUMP.encode(), None, None, cache)))
        assert not done.wait(0.3), "validation parsed while the redactor held the lock"
    assert done.wait(5)
    t.join()
    assert out == [(None, None)]  # valid JSON, no version asked for


def test_redacting_json_waits_while_another_parse_holds_the_lock() -> None:
    out: list[redact_text.Outcome] = []
    cache = RunCache()
    with cache.parse_lock:
        t, done = _in_thread(
            lambda: out.append(
                redact.redact_body("d.json", Body.of(DUMP.encode()), is_json=True, cache=cache)
            )
        )
        assert not done.wait(0.3), "redaction parsed while another parse held the lock"
    assert done.wait(5)
    t.join()
    assert out[0].redactions and b"abcdefghijklmnop" not in out[0].body.read_bytes()  # type: ignore[union-attr]
