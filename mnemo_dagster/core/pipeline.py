"""The three stages of a batch, overlapped: read and parse, encode, write.

A batch used to parse every file, then encode every chunk, then write every file. Here a reader
thread reads and parses ahead, the calling thread encodes, and a writer thread writes each file in its
own transaction, so the model is never idle while a file is read, parsed or written:

    reader thread --(groups, bounded)--> caller: encode groups --(groups, bounded)--> writer thread

The reader hands over whole groups of at least
:data:`~mnemo_dagster.core.defaults.ENCODE_GROUP_CHUNKS` chunks (files are never split), one group
ahead of the model: when the model finishes a group, the next is ready. The first and last groups are
small (:func:`groups`), so the model starts early and little is left to write after it ends.
Sentence-transformers sorts a call's texts by length, so large groups also cut padding. Both queues
are bounded (one group ahead, two behind), so memory stays bounded whatever the batch's size. Torch
releases the GIL while it computes, which is what lets the two threads make progress meanwhile.

An error in any stage stops the others and is raised in the calling thread, so the step fails (and
is retried) exactly as before; the writer has then written only whole files.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from mnemo_dagster.core.defaults import EDGE_GROUP_CHUNKS, ENCODE_GROUP_CHUNKS, PARSE_AHEAD_GROUPS

T = TypeVar("T")
_DONE = object()
_POLL_SECONDS = 0.1


class _Stage:
    """A daemon thread and the bounded queue between it and the calling thread."""

    def __init__(self, depth: int) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.seconds = 0.0
        """Time the stage's thread spent working (not waiting on its queue)."""

    def put(self, item: Any) -> bool:
        """Queue ``item``, waiting while the queue is full; False once the stage was stopped."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def get(self) -> Any:
        """The next item, waiting while the queue is empty; ``_DONE`` once the stage was stopped."""
        while not self.stop.is_set():
            try:
                return self.queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
        return _DONE


class ReadAhead(Generic[T]):
    """``(item, work(item))`` for every item, in order, computed by a thread up to ``depth`` items
    ahead; a context manager (entering starts the thread, leaving stops it).

    With ``size``, the thread hands over groups instead: lists of ``(item, result)`` whose
    ``size((item, result))`` adds up to at least ``at_least`` (:func:`groups`), ``depth`` groups ahead.
    Iterate over it once, inside the block; :attr:`seconds` is the time the thread spent working.
    """

    def __init__(
        self,
        items: list[T],
        work: Callable[[T], Any],
        depth: int = PARSE_AHEAD_GROUPS,
        *,
        size: Callable[[tuple[T, Any]], int] | None = None,
        at_least: int = ENCODE_GROUP_CHUNKS,
    ) -> None:
        self._items = items
        self._work = work
        self._size = size
        self._at_least = at_least
        self._stage = _Stage(depth)
        self._thread = threading.Thread(target=self._run, name="mnemo-reader", daemon=True)

    @property
    def seconds(self) -> float:
        return self._stage.seconds

    def _results(self) -> Iterator[tuple[T, Any]]:
        stage = self._stage
        for item in self._items:
            started = time.perf_counter()
            result = self._work(item)
            stage.seconds += time.perf_counter() - started
            yield item, result

    def _run(self) -> None:
        stage = self._stage
        results = self._results()
        handed: Iterator[Any] = results if self._size is None else groups(results, self._size, self._at_least)
        try:
            for handover in handed:
                if not stage.put(handover):
                    return
        except BaseException as exc:  # handed to the caller, which re-raises it
            stage.error = exc
        stage.put(_DONE)

    def __enter__(self) -> ReadAhead[T]:
        """Start reading ahead (e.g. while the model loads)."""
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stage.stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[Any]:
        stage = self._stage
        while (result := stage.get()) is not _DONE:
            yield result
        if stage.error is not None:
            raise stage.error


class WriteBehind:
    """Runs submitted writes (callables) in a thread, in order; a context manager.

    :meth:`submit` raises the writer's error as soon as it is known; leaving the block waits for the
    queued writes (unless the block raised) and raises the writer's error if there was one.
    """

    def __init__(self, depth: int = 2) -> None:
        self._stage = _Stage(depth)
        self._thread = threading.Thread(target=self._run, name="mnemo-writer", daemon=True)

    @property
    def seconds(self) -> float:
        """Time spent writing."""
        return self._stage.seconds

    def _run(self) -> None:
        stage = self._stage
        while (write := stage.get()) is not _DONE:
            started = time.perf_counter()
            try:
                write()
            except BaseException as exc:  # raised in the caller by submit() or __exit__
                stage.error = exc
                stage.stop.set()
                return
            finally:
                stage.seconds += time.perf_counter() - started

    def _raise_error(self) -> None:
        error = self._stage.error
        if error is not None:
            raise error

    def submit(self, write: Callable[[], None]) -> None:
        """Queue ``write`` (waits while ``depth`` writes are queued)."""
        self._raise_error()
        if not self._stage.put(write):
            self._raise_error()

    def __enter__(self) -> WriteBehind:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._stage.put(_DONE)
        else:
            self._stage.stop.set()
        self._thread.join()
        if exc_type is None:
            self._raise_error()


def groups(
    items: Iterator[T],
    size: Callable[[T], int],
    at_least: int = ENCODE_GROUP_CHUNKS,
    edge: int = EDGE_GROUP_CHUNKS,
) -> Iterator[list[T]]:
    """Consecutive groups of ``items`` whose ``size`` adds up to at least ``at_least``, except the
    first and the last, which need only ``edge``; an item is never split.

    The small first group lets the model start as soon as a few files are parsed; the small last group
    means only a few files are written after the model's last call (the writes of the group before it
    overlap with that call). So a finished group is held back until ``edge`` more has come after it,
    and at the end whatever is held is split to leave ``edge`` for the last group.
    """
    edge = min(edge, at_least)
    group: list[T] = []
    total = 0
    target = edge
    finished: list[T] | None = None
    for item in items:
        group.append(item)
        total += size(item)
        if finished is not None and total >= edge:
            yield finished
            finished = None
        if finished is None and total >= target:
            finished, group, total, target = group, [], 0, at_least
    rest = (finished or []) + group
    tail: list[T] = []
    tail_size = 0
    while rest and tail_size < edge:
        tail.insert(0, rest.pop())
        tail_size += size(tail[0])
    if rest:
        yield rest
    if tail:
        yield tail
