"""Ids: 64-bit, strictly increasing per generator, time-ordered, and never shared between nodes."""

from __future__ import annotations

import itertools
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from parley.kit.clock import FrozenClock
from parley.kit.ids import EPOCH_MS, IdGenerator, timestamp_ms_of

NODE_SHIFT = 12
NODE_MASK = (1 << 10) - 1


class ScriptedClock:
    """A clock that returns whatever the test sets, including times in the past."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def now_ms(self) -> int:
        return self.now


def node_of(id_: int) -> int:
    return (id_ >> NODE_SHIFT) & NODE_MASK


def test_id_carries_the_time_it_was_made_and_fits_in_64_bits() -> None:
    clock = FrozenClock(start_ms=1_795_302_000_123)
    id_ = IdGenerator(clock, node=7).next_id()
    assert timestamp_ms_of(id_) == 1_795_302_000_123
    assert 0 < id_ < 2**63  # a signed BIGINT column holds it
    assert node_of(id_) == 7


def test_later_time_gives_larger_id_across_generators() -> None:
    clock = FrozenClock()
    early = IdGenerator(clock, node=1023).next_id()
    clock.advance(seconds=0.001)
    late = IdGenerator(clock, node=0).next_id()
    assert late > early  # time dominates the node bits


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=-5_000, max_value=5_000), st.integers(min_value=1, max_value=50)),
        min_size=1,
        max_size=40,
    ),
    node=st.integers(min_value=0, max_value=NODE_MASK),
)
def test_ids_strictly_increase_and_follow_the_clock_even_when_it_goes_back(
    steps: list[tuple[int, int]], node: int
) -> None:
    clock = ScriptedClock(EPOCH_MS + 10_000_000)
    gen = IdGenerator(clock, node=node)
    previous = 0
    latest_time = 0
    for delta_ms, count in steps:
        clock.now = max(EPOCH_MS, clock.now + delta_ms)
        latest_time = max(latest_time, clock.now)
        for _ in range(count):
            id_ = gen.next_id()
            assert id_ > previous
            assert node_of(id_) == node
            # Fewer than 4096 ids per millisecond: an id's time is the latest time the clock showed.
            assert timestamp_ms_of(id_) == latest_time
            previous = id_


def test_sequence_overflow_borrows_the_next_millisecond_not_another_nodes_bits() -> None:
    clock = FrozenClock()
    gen = IdGenerator(clock, node=5)
    ids = [gen.next_id() for _ in range(3 * 4096 + 10)]
    assert all(b > a for a, b in itertools.pairwise(ids))
    assert {node_of(i) for i in ids} == {5}
    start = clock.now_ms()
    assert {timestamp_ms_of(i) for i in ids} == {start, start + 1, start + 2, start + 3}


def test_two_nodes_sharing_a_stalled_clock_never_make_the_same_id() -> None:
    clock = FrozenClock()
    one, three = IdGenerator(clock, node=1), IdGenerator(clock, node=3)
    ids_one = [one.next_id() for _ in range(10_000)]
    ids_three = [three.next_id() for _ in range(10_000)]
    assert not set(ids_one) & set(ids_three)


def test_ids_are_unique_across_threads() -> None:
    clock = FrozenClock()
    gen = IdGenerator(clock, node=9)
    results: list[list[int]] = [[] for _ in range(8)]

    def work(out: list[int]) -> None:
        for _ in range(2_000):
            out.append(gen.next_id())

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for r in results for i in r]
    assert len(set(everything)) == len(everything) == 16_000
    for r in results:  # each thread sees its own ids increase
        assert r == sorted(r)
