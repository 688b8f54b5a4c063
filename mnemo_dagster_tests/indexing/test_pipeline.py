"""The overlapped stages of a batch: order, bounded read-ahead, errors carried to the caller."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from mnemo_dagster.indexing.pipeline import ReadAhead, WriteBehind, groups
from mnemo_dagster_tests.defs.waiting import wait_until


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
        # One taken, four queued, one finished and waiting for room: then the thread waits.
        wait_until(lambda: len(done) >= 6, "the reader to fill its queue")
        ahead = len(done)
    assert ahead == 6
    assert len(done) < 50  # leaving the block stopped it


def test_read_ahead_hands_over_whole_groups_a_group_ahead() -> None:
    done: list[int] = []

    def work(n: int) -> int:
        done.append(n)
        return 10 * n

    with ReadAhead(list(range(40)), work, depth=1, size=lambda pair: 10, at_least=30) as reader:
        iterator = iter(reader)
        first = next(iterator)
        # While the model encodes the first group, the thread reads ahead: the next group is ready
        # (queued), the one after it waits for room, and a group is read after that one (a group is
        # handed over once it is known not to be the last).
        wait_until(lambda: len(done) >= 12, "the reader to read two groups ahead")
        ahead = len(done)
        rest = list(iterator)
    assert first == [(0, 0), (1, 10), (2, 20)]
    assert ahead == 12
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


def _square_in_child(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


@pytest.mark.parametrize("processes", [1, 3])
def test_parse_processes_return_every_result_in_order(processes: int) -> None:
    items = list(range(60))
    with ReadAhead(items, _square_in_child, processes=processes, size=lambda pair: 10, at_least=50) as reader:
        results = [pair for group in reader for pair in group]
    assert [(n, square) for n, (square, _) in results] == [(n, n * n) for n in items]
    workers = {pid for _, (_, pid) in results}
    assert len(workers) == processes and os.getpid() not in workers
    for pid in workers:  # reaped when the block ended
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_a_parse_processes_error_is_raised_after_the_good_results() -> None:
    class Unpicklable(Exception):
        def __reduce__(self) -> object:
            raise TypeError("cannot pickle")

    def work(n: int) -> int:
        if n == 4:
            raise MemoryError("parser ran out of memory")
        if n == 7:
            raise Unpicklable("a lock inside")
        return n

    seen = []
    with ReadAhead(list(range(10)), work, processes=2) as reader, pytest.raises(MemoryError, match="out of"):
        for item, _ in reader:
            seen.append(item)
    assert seen == [0, 1, 2, 3]
    with (
        ReadAhead(list(range(5, 10)), work, processes=1) as reader,
        pytest.raises(RuntimeError, match="Unpicklable: a lock inside"),
    ):
        list(reader)


def test_a_parse_process_that_dies_is_a_clear_error() -> None:
    def work(n: int) -> int:
        if n == 2:
            os._exit(3)  # as if killed for memory
        return n

    with (
        ReadAhead(list(range(5)), work, processes=1) as reader,
        pytest.raises(RuntimeError, match="a parsing process died while working on 2"),
    ):
        list(reader)


def test_parse_processes_stay_a_bounded_distance_ahead_and_are_stopped() -> None:
    marks = Path(tempfile.mkdtemp())

    def work(n: int) -> str:
        (marks / f"{n}-{os.getpid()}").touch()
        return "x" * 20_000  # a few fill a pipe

    with ReadAhead(list(range(2000)), work, processes=1, depth=1) as reader:
        next(iter(reader))
        wait_until(lambda: len(list(marks.iterdir())) >= 3, "the parsing process to run ahead")
    (pid,) = {int(mark.name.split("-")[1]) for mark in marks.iterdir()}
    with pytest.raises(ChildProcessError):  # killed and reaped when the block ended
        os.waitpid(pid, os.WNOHANG)
    assert len(list(marks.iterdir())) < 50  # blocked on the full pipe, not parsing the whole batch
    shutil.rmtree(marks)


def test_write_behind_runs_writes_in_order_and_waits_for_them() -> None:
    written: list[int] = []
    with WriteBehind() as writer:
        for n in range(20):
            writer.submit(lambda n=n: written.append(n))
    assert written == list(range(20))
    assert writer.seconds > 0.0  # the writes were timed


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


def test_write_behind_writes_a_groups_files_side_by_side_and_the_next_group_after() -> None:
    inside = threading.Barrier(3, timeout=60)  # passes only when three writes run at once
    log: list[str] = []

    def write(name: str) -> None:
        inside.wait()
        log.append(name)

    with WriteBehind(threads=3) as writer:
        writer.submit_all([lambda n=n: write(f"a{n}") for n in range(3)])
        writer.submit(lambda: log.append("after"))
        writer.submit_all([lambda n=n: write(f"b{n}") for n in range(3)])
    assert sorted(log[:3]) == ["a0", "a1", "a2"]
    assert log[3] == "after"
    assert sorted(log[4:]) == ["b0", "b1", "b2"]


def test_write_behind_raises_a_failed_side_by_side_write_and_starts_no_more() -> None:
    written: list[int] = []

    def write(n: int) -> None:
        if n == 1:
            raise ConnectionError("database went away")
        time.sleep(0.05)
        written.append(n)

    with pytest.raises(ConnectionError, match="went away"), WriteBehind(threads=2) as writer:
        writer.submit_all([lambda n=n: write(n) for n in range(40)])
        time.sleep(0.5)
        writer.submit_all([lambda: written.append(100)])
    assert 0 in written and 100 not in written
    assert len(written) < 10  # the queued writes of the group were cancelled


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
