"""In what order the runner starts planned items: priority order, with heavy items held to their slots.

Pure bookkeeping over indices into the plan, no I/O: the runner asks `take` for the next item whenever
a worker is free and reports each landing, so the scheduling rules are tested without a cluster.
"""

from __future__ import annotations

from collections import deque

from collector.steps import Item, Step

# Bytes of heavy bodies in flight at once, once their size is known: the run keeps 32 MiB of bodies in
# memory (`collector.body.MEMORY`) and spools the rest, a page-cache copy each way. At 1,000 nodes
# (16.6 MB dumps) 8 dumps in flight spooled six of them; at 6 (this bound), in two alternating rounds
# of 1,000-node collects, the collector used 6-8 s less CPU and 2-6 s less wall, its peak RSS within
# the runs' spread (242-256 MiB against 226-246). At 100 nodes (1.7 MB dumps, latency-bound) every
# slot stays: 6 of them there cost ~0.15 s.
HEAVY_BYTES = 96 << 20


class Queue:
    """Planned items handed out in priority order, with heavy ones held to a number of slots.

    While `heavy_slots` heavy items are in flight (ztunnel dumps: many MB each, and they queue for the
    run's parse lock once fetched), the next heavy item waits and the lighter items behind it go
    first: at 1,000 nodes the logs and metrics planned after the dumps otherwise waited ~20 s for
    them, on workers that were idle but for waiting on the lock. Heavy items keep their own order, and
    take a slot as soon as one is free; once the biggest heavy body seen weighs more than `HEAVY_BYTES`
    over the slots, there are fewer slots (two at least). An `after_earlier` item (the pod witness)
    goes only once every item before it has landed; the items after it do not wait for it, so the
    witness planned right after the dumps starts when the last dump lands while the logs behind it
    are still being read.
    """

    def __init__(self, planned: list[tuple[Step, Item]], heavy_slots: int) -> None:
        self.planned = planned
        self.heavy_slots = heavy_slots
        self.heavy_in_flight = 0
        self.heavy_biggest = 0  # bytes of the biggest heavy body landed so far
        self._heavy = deque(i for i, (step, _) in enumerate(planned) if step.heavy)
        self._light = deque(i for i, (step, _) in enumerate(planned) if not step.heavy)
        self._witnesses = deque(i for i, (step, _) in enumerate(planned) if step.after_earlier)
        self._late_from = len(planned)  # items from this index on were planned by `extend`
        self._out: dict[str, int] = {}  # what was handed out and has not landed, by item path

    def __bool__(self) -> bool:
        return bool(self._heavy or self._light)

    def extend(self, more: list[tuple[Step, Item]]) -> None:
        """Plan `more` (the items planned once the routing is known) behind what each lane holds.

        A heavy one then goes as soon as the heavy items before it are out and a slot is free, ahead
        of the light items still waiting: istiod's views, a few shared fetches at 100 nodes, ran after
        the last log and so made the run's tail.
        """
        for i, (step, _) in enumerate(more, start=len(self.planned)):
            (self._heavy if step.heavy else self._light).append(i)
            if step.after_earlier:
                self._witnesses.append(i)
        self.planned = [*self.planned, *more]

    def take(self) -> tuple[Step, Item] | None:
        """The next item that may start now, or None (none left, or each candidate must wait)."""
        witness = self._witnesses[0] if self._witnesses else None
        if witness is not None and self.landed_before(witness):
            self._witnesses.popleft()
            return self._hand_out(witness)
        heavy = next((i for i in self._heavy if i != witness), None)
        if heavy is not None and self.heavy_in_flight >= self.heavy_slots:
            heavy = None
        light = next((i for i in self._light if i != witness), None)
        if heavy is None and light is None:
            return None
        if light is None or (heavy is not None and (heavy < light or heavy >= self._late_from)):
            assert heavy is not None
            return self._hand_out(heavy)
        return self._hand_out(light)

    def landed_before(self, index: int) -> bool:
        """Whether every item planned before `index` was handed out and has landed."""
        queued = (q[0] for q in (self._heavy, self._light) if q)
        return all(i >= index for i in queued) and all(i >= index for i in self._out.values())

    def _hand_out(self, index: int) -> tuple[Step, Item]:
        step, item = self.planned[index]
        (self._heavy if step.heavy else self._light).remove(index)  # at or near the front
        if step.heavy:
            self.heavy_in_flight += 1
        self._out[item.path] = index
        return step, item

    def landed(self, step: Step, item: Item, size: int = 0) -> None:
        """`item` landed with a body of `size` bytes (0 without one)."""
        self._out.pop(item.path, None)
        if step.heavy:
            self.heavy_in_flight -= 1
            if size > self.heavy_biggest:
                self.heavy_biggest = size
                self.heavy_slots = min(self.heavy_slots, max(2, HEAVY_BYTES // size))

    def remaining(self) -> list[tuple[Step, Item]]:
        """The items never handed out, in priority order."""
        return [self.planned[i] for i in sorted([*self._heavy, *self._light])]
