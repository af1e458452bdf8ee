"""Pausing the cycle collector: resumed afterwards, what was built counted as old, garbage still found."""

from __future__ import annotations

import gc
import weakref

from analyzer.gc_pause import no_cycle_collection


class _Node:
    def __init__(self) -> None:
        self.me: _Node | None = self


def test_resumes_with_what_was_built_in_the_oldest_generation_and_cycles_still_collected() -> None:
    assert gc.isenabled()
    with no_cycle_collection():
        assert not gc.isenabled()
        kept = [[i] for i in range(20_000)]  # alive after the pause, like a model
        garbage = _Node()  # a cycle that becomes garbage while paused
        gone = weakref.ref(garbage)
        del garbage
        assert gc.get_count()[0] > len(kept)  # counted while paused
    assert gc.isenabled()
    oldest = gc.get_objects(generation=2)  # not left for the young generations' collections to walk
    assert any(o is kept for o in oldest) and any(o is kept[-1] for o in oldest)
    del oldest
    gc.collect()
    assert gone() is None and len(kept) == 20_000


def test_nested_pauses_resume_once_and_objects_frozen_by_someone_else_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with no_cycle_collection():
            with no_cycle_collection():
                pass
            assert not gc.isenabled()  # the inner pause does not resume the collector
        assert gc.isenabled() and gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()
