"""In what order the runner starts planned items: priority order, with heavy items held to their slots.

Pure bookkeeping over indices into the plan, no I/O: the runner asks `take` for the next item whenever
a worker is free and reports each landing, so the scheduling rules are tested without a cluster.
"""

from __future__ import annotations

from collections import deque

from collector.steps import Item, Step


class Queue:
    """Planned items handed out in priority order, with heavy ones held to a number of slots.

    While `heavy_slots` heavy items are in flight (ztunnel dumps: many MB each, and they queue for the
    run's parse lock once fetched), the next heavy item waits and the lighter items behind it go
    first: at 1,000 nodes the logs and metrics planned after the dumps otherwise waited ~20 s for
    them, on workers that were idle but for waiting on the lock. Heavy items keep their own order, and
    take a slot as soon as one is free. An `after_earlier` item is a barrier: nothing passes it, and
    it goes only once every item before it has landed.
    """

    def __init__(self, planned: list[tuple[Step, Item]], heavy_slots: int) -> None:
        self.planned = planned
        self.heavy_slots = heavy_slots
        self.heavy_in_flight = 0
        self._heavy = deque(i for i, (step, _) in enumerate(planned) if step.heavy)
        self._light = deque(i for i, (step, _) in enumerate(planned) if not step.heavy)
        self._barriers = deque(i for i, (step, _) in enumerate(planned) if step.after_earlier)

    def __bool__(self) -> bool:
        return bool(self._heavy or self._light)

    def take(self, in_flight: int) -> tuple[Step, Item] | None:
        """The next item that may start now, or None (none left, or each candidate must wait)."""
        barrier = self._barriers[0] if self._barriers else len(self.planned)
        heavy = self._heavy[0] if self._heavy and self._heavy[0] < barrier else None
        if heavy is not None and self.heavy_in_flight >= self.heavy_slots:
            heavy = None
        light = self._light[0] if self._light else None
        if light == barrier and (in_flight or (self._heavy and self._heavy[0] < barrier)):
            light = None  # the witness waits until everything before it has landed
        if heavy is None and light is None:
            return None
        if light is None or (heavy is not None and heavy < light):
            assert heavy is not None
            self._heavy.popleft()
            self.heavy_in_flight += 1
            return self.planned[heavy]
        self._light.popleft()
        if light == barrier:
            self._barriers.popleft()
        return self.planned[light]

    def landed(self, step: Step) -> None:
        if step.heavy:
            self.heavy_in_flight -= 1

    def remaining(self) -> list[tuple[Step, Item]]:
        """The items never handed out, in priority order."""
        return [self.planned[i] for i in sorted([*self._heavy, *self._light])]
