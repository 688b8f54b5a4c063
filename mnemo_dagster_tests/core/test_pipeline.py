"""The overlapped stages of a batch: order, bounded read-ahead, errors carried to the caller."""

from __future__ import annotations

import threading
import time

import pytest

from mnemo_dagster.core.pipeline import ReadAhead, WriteBehind, groups


def test_read_ahead_yields_every_result_in_order_and_times_the_work() -> None:
    def work(n: int) -> int:
        time.sleep(0.001)
        return n * n

    with ReadAhead(list(range(100)), work) as reader:
        results = list(reader)
    assert results == [(n, n * n) for n in range(100)]
    assert reader.seconds >= 0.1


def test_read_ahead_stays_a_bounded_number_of_items_ahead() -> None:
    done: list[int] = []
    with ReadAhead(list(range(50)), done.append, depth=4) as reader:
        iterator = iter(reader)
        next(iterator)
        time.sleep(0.3)  # the thread fills the queue, then waits
        ahead = len(done)
    # One taken, four queued, one finished and waiting for room.
    assert 2 <= ahead <= 7
    assert len(done) < 50  # leaving the block stopped it


def test_read_ahead_hands_over_whole_groups_a_group_ahead() -> None:
    done: list[int] = []

    def work(n: int) -> int:
        done.append(n)
        return 10 * n

    with ReadAhead(list(range(40)), work, depth=1, size=lambda pair: 10, at_least=30) as reader:
        iterator = iter(reader)
        first = next(iterator)
        time.sleep(0.3)  # the model encodes the first group; the thread reads ahead meanwhile
        ahead = len(done)
        rest = list(iterator)
    assert first == [(0, 0), (1, 10), (2, 20)]
    # The next group is ready (queued), the one after it waits for room, and a group is read after
    # that one (a group is handed over once it is known not to be the last).
    assert 6 <= ahead <= 12
    assert [len(group) for group in rest] == [3] * 11 + [1, 3]  # the last group keeps 30
    assert [pair for group in [first, *rest] for pair in group] == [(n, 10 * n) for n in range(40)]


def test_read_ahead_raises_the_threads_error_after_the_good_results() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise MemoryError("parser ran out of memory")
        return n

    seen = []
    with ReadAhead(list(range(10)), work) as reader, pytest.raises(MemoryError, match="out of memory"):
        for item, _ in reader:
            seen.append(item)
    assert seen == [0, 1, 2]


def test_read_ahead_stops_when_the_block_fails_before_iterating() -> None:
    started = threading.active_count()
    with pytest.raises(RuntimeError), ReadAhead(list(range(1000)), lambda n: n, depth=2):
        raise RuntimeError("the model failed to load")
    assert threading.active_count() == started


def test_write_behind_runs_writes_in_order_and_waits_for_them() -> None:
    written: list[int] = []
    with WriteBehind() as writer:
        for n in range(20):
            writer.submit(lambda n=n: written.append(n))
    assert written == list(range(20))
    assert writer.seconds >= 0.0


def test_write_behind_raises_a_failed_write_and_drops_the_rest() -> None:
    written: list[int] = []

    def write(n: int) -> None:
        if n == 2:
            raise ConnectionError("database went away")
        written.append(n)

    with pytest.raises(ConnectionError, match="went away"), WriteBehind(depth=1) as writer:
        for n in range(50):
            writer.submit(lambda n=n: write(n))
            time.sleep(0.005)
    assert written == [0, 1]


def test_write_behind_abandons_queued_writes_when_the_block_fails() -> None:
    written: list[int] = []
    with pytest.raises(ValueError), WriteBehind(depth=8) as writer:
        writer.submit(lambda: time.sleep(0.3))  # busy while the block fails
        for n in range(5):
            writer.submit(lambda n=n: written.append(n))
        raise ValueError("encoding failed")
    assert written == []


def test_groups_reach_the_size_without_splitting_an_item() -> None:
    sizes = [100, 100, 100, 5, 300, 1, 1]
    grouped = list(groups(iter(sizes), lambda s: s, at_least=250, edge=250))
    assert grouped == [[100, 100, 100], [5], [300, 1, 1]]  # the last group reaches the size too
    assert list(groups(iter([]), lambda s: s, at_least=10)) == []


def test_first_and_last_groups_are_small_so_the_model_starts_early_and_little_is_written_after() -> None:
    sizes = [10, 30, 40, 500, 600, 20, 300, 700, 50, 8, 30, 3]
    grouped = list(groups(iter(sizes), lambda s: s, at_least=1000, edge=64))
    assert grouped == [[10, 30, 40], [500, 600], [20, 300, 700], [50, 8, 30, 3]]
    # A group followed by too little for a last group of its own gives its last files to it.
    grouped = list(groups(iter([*sizes[:-4], 3]), lambda s: s, at_least=1000, edge=64))
    assert grouped == [[10, 30, 40], [500, 600], [20, 300], [700, 3]]
    # What is left when the items end is split: only the last 64 are written after the last call.
    grouped = list(groups(iter([10, 30, 40, *[20] * 45]), lambda s: s, at_least=1000, edge=64))
    assert grouped == [[10, 30, 40], [20] * 41, [20] * 4]
    assert list(groups(iter([5, 5, 5]), lambda s: s, at_least=1000, edge=64)) == [[5, 5, 5]]
