"""The schedule: heavy items (dumps) held to half the workers, lighter ones passing them meanwhile;
the pod witness after everything before it, with nothing waiting for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from collector.body import Body
from collector.schedule import Queue
from collector.steps import Item, Source, SourceKind, Step
from tests.collector.bundle_io import collect
from tests.fakecluster import FakeCluster, Fault, scenarios
from ztbundle.layout import Input

Start = Callable[..., FakeCluster]


def _fetch(ctx: object, item: Item) -> Body:
    raise AssertionError("never fetched here")


HEAVY = Step(name="heavy", items=lambda plan: (), fetch=_fetch, heavy=True)
LIGHT = Step(name="light", items=lambda plan: (), fetch=_fetch)
WITNESS = Step(name="witness", items=lambda plan: (), fetch=_fetch, after_earlier=True)


def _plan(spec: str) -> list[tuple[Step, Item]]:
    """`spec`: one letter per item, H heavy, L light, W witness; items are named by their index."""
    steps = {"H": HEAVY, "L": LIGHT, "W": WITNESS}
    return [
        (steps[c], Item(steps[c].name, f"{i}", Input.ZTUNNEL_CONFIG, Source(SourceKind.LOCAL, ""), "get"))
        for i, c in enumerate(spec)
    ]


def _names(taken: list[tuple[Step, Item] | None]) -> list[str | None]:
    return [t[1].path if t else None for t in taken]


def _take(queue: Queue, n: int) -> list[tuple[Step, Item] | None]:
    return [queue.take() for _ in range(n)]


def _land(queue: Queue, taken: tuple[Step, Item] | None) -> None:
    assert taken is not None
    queue.landed(*taken)


def test_a_heavy_item_past_its_slots_waits_and_the_light_ones_behind_it_go_first() -> None:
    queue = Queue(_plan("HHHHLL"), heavy_slots=2)
    taken = _take(queue, 5)
    assert _names(taken) == ["0", "1", "4", "5", None]
    _land(queue, taken[0])
    second = _take(queue, 1)
    assert _names(second) == ["2"]  # heavy items keep their own order
    assert queue and _names(_take(queue, 1)) == [None]
    _land(queue, taken[1])
    assert _names(_take(queue, 1)) == ["3"]
    assert not queue


def test_heavy_slots_shrink_to_the_bytes_in_flight_once_bodies_are_big() -> None:
    from collector.schedule import HEAVY_BYTES

    queue = Queue(_plan("HHHHHHH"), heavy_slots=4)
    taken = _take(queue, 5)
    assert _names(taken) == ["0", "1", "2", "3", None]
    queue.landed(*taken[0], size=HEAVY_BYTES // 8)  # small: four slots stay
    assert _names(_take(queue, 2)) == ["4", None]
    queue.landed(*taken[1], size=HEAVY_BYTES // 2 + 1)  # one weighs over half the bound: two slots
    queue.landed(*taken[2], size=HEAVY_BYTES // 8)  # a smaller one later gives none back
    assert queue.heavy_slots == 2 and queue.heavy_in_flight == 2
    assert _names(_take(queue, 1)) == [None]
    queue.landed(*taken[3], size=HEAVY_BYTES * 4)  # never fewer than two
    assert queue.heavy_slots == 2 and _names(_take(queue, 2)) == ["5", None]


def test_a_witness_waits_for_every_earlier_item_to_land_and_later_items_pass_it() -> None:
    queue = Queue(_plan("HLHWLH"), heavy_slots=2)
    first = _take(queue, 5)
    assert _names(first) == ["0", "1", "2", "4", None]  # W waits; L4 passes it; H5 has no slot
    _land(queue, first[0])
    _land(queue, first[2])
    assert _names(_take(queue, 1)) == ["5"]  # the light item 1 before W is still in flight
    _land(queue, first[3])  # an item after W landing changes nothing for it
    assert _names(_take(queue, 1)) == [None]
    _land(queue, first[1])
    assert _names(_take(queue, 2)) == ["3", None]
    assert not queue


def test_a_witness_first_in_the_plan_goes_at_once() -> None:
    queue = Queue(_plan("WHL"), heavy_slots=1)
    assert _names(_take(queue, 4)) == ["0", "1", "2", None]


def test_what_was_never_handed_out_is_listed_in_priority_order() -> None:
    queue = Queue(_plan("HHLHL"), heavy_slots=1)
    assert _names(_take(queue, 2)) == ["0", "2"]
    assert [item.path for _, item in queue.remaining()] == ["1", "3", "4"]


def test_lists_planned_after_the_dumps_are_fetched_while_dumps_are_still_being_asked_for(
    fake_cluster: Start, tmp_path: Path
) -> None:
    """Configuration lists come after the dumps in priority; with 8 dumps and 2 heavy slots they start
    as soon as the first two dumps hold those slots, not once the last dump has landed."""
    cluster = fake_cluster(scenarios.synthetic(nodes=8, pods_per_node=3), [Fault.latency(0.05)])
    run = collect(cluster, tmp_path, "--concurrency", "4")
    assert run.code == 0
    dumps = [r.time for r in cluster.requested("/config_dump") if r.port == 15000]  # not istiod's views
    policies = [r.time for r in cluster.requested("/authorizationpolicies")]
    assert len(dumps) == 8 and policies
    assert min(policies) < max(dumps)


def test_items_planned_later_go_after_the_others_keeping_the_heavy_order() -> None:
    queue = Queue(_plan("HL"), heavy_slots=1)
    first = _take(queue, 2)
    assert queue.landed_before(1) is False
    _land(queue, first[0])
    assert queue.landed_before(1) is True
    later = Item("heavy", "2", Input.ISTIOD_PROXY_CONFIG, Source(SourceKind.LOCAL, ""), "get")
    queue.extend([(HEAVY, later)])
    assert _names(_take(queue, 2)) == ["2", None]
    assert not queue


def test_heavy_items_planned_later_go_before_the_light_ones_still_waiting() -> None:
    """istiod's views, planned once the routing lands, start when a heavy slot is free, not after the
    last log: light items planned earlier do not hold them back, heavy ones do."""
    queue = Queue(_plan("HHLLL"), heavy_slots=1)
    first = _take(queue, 2)
    assert _names(first) == ["0", "2"]
    later = Item("heavy", "5", Input.ISTIOD_PROXY_CONFIG, Source(SourceKind.LOCAL, ""), "get")
    queue.extend([(HEAVY, later)])
    _land(queue, first[0])
    assert _names(_take(queue, 1)) == ["1"]  # the heavy item planned first keeps its place
    assert _names(_take(queue, 1)) == ["3"]  # its slot is taken: a light one goes meanwhile
    _land(queue, (HEAVY, queue.planned[1][1]))
    assert _names(_take(queue, 2)) == ["5", "4"]


def test_istiod_views_are_asked_while_the_pod_witness_is_still_running(
    fake_cluster: Start, tmp_path: Path
) -> None:
    """The views are planned once the routing lands and run beside the witness, not after it."""
    cluster = fake_cluster(
        scenarios.synthetic(nodes=4, pods_per_node=3), [Fault.latency(1.0, resource="pods")]
    )
    run = collect(cluster, tmp_path, "--concurrency", "4")
    assert run.code == 0
    views = [r.time for r in cluster.requested("/debug/config_dump") if r.port == 15014]
    witness = [r.time for r in cluster.requested("/api/v1/pods") if "labelSelector" not in r.query]
    assert views and len(witness) == 2  # the first pod list, then the witness
    assert min(views) < max(witness) + 0.5  # the witness is answered a second after it is asked
