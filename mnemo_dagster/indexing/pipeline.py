"""The three stages of a batch, overlapped: read and parse, encode, write.

A reader thread reads and parses ahead, the calling thread encodes, and a writer thread writes each
file in its own transaction, so the model is never idle while a file is read, parsed or written:

    reader thread --(groups, bounded)--> caller: encode groups --(groups, bounded)--> writer thread

The reader hands over whole groups of at least
:data:`~mnemo_dagster.config.defaults.ENCODE_GROUP_CHUNKS` chunks (files are never split), one group
ahead of the model: when the model finishes a group, the next is ready. The first and last groups are
small (:func:`groups`), so the model starts early and little is left to write after it ends.
Sentence-transformers sorts a call's texts by length, so large groups also cut padding. Both queues
are bounded (one group ahead, two behind), so memory stays bounded whatever the batch's size. Torch
releases the GIL while it computes, which is what lets the two threads make progress meanwhile.

With ``processes``, the reading and parsing run in forked processes instead (:class:`_Workers`) and
the reader thread only gathers their results. The thread's parse holds the GIL that the encoding
thread needs between two torch operations: on 2 cores a thread parsing without pause slowed the model
from 29.8 to 7.9 chunks/s. Where the model needs every core anyway that costs about what a process
of its own costs it, so the default on the CPU stays the thread. Where the model leaves the cores
free (on a GPU), the parse is the limit instead: with an instant model, one process raised a 2-core
step from about 2,500 to 3,600 files/min (:func:`~mnemo_dagster.config.settings.parse_processes`).

An error in any stage stops the others and is raised in the calling thread, so the step fails (and
is retried) exactly as before; the writer has then written only whole files.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from mnemo_dagster.config.defaults import EDGE_GROUP_CHUNKS, ENCODE_GROUP_CHUNKS, PARSE_AHEAD_GROUPS

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
    With ``processes`` (where the platform can fork), ``work`` runs in that many forked processes and
    its results (and errors) must pickle. ``track(item)`` is a context manager around the production
    of each result (the work in a thread, the wait for it with processes), for progress reports.
    Iterate over it once, inside the block; :attr:`seconds` is the time spent working (by all the
    processes together).
    """

    def __init__(
        self,
        items: list[T],
        work: Callable[[T], Any],
        depth: int = PARSE_AHEAD_GROUPS,
        *,
        size: Callable[[tuple[T, Any]], int] | None = None,
        at_least: int = ENCODE_GROUP_CHUNKS,
        processes: int = 0,
        track: Callable[[T], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self._items = items
        self._work = work
        self._track = track or (lambda item: contextlib.nullcontext())
        self._size = size
        self._at_least = at_least
        self._stage = _Stage(depth)
        self._thread = threading.Thread(target=self._run, name="mnemo-reader", daemon=True)
        self._workers: _Workers[T] | None = None
        if processes > 0 and hasattr(os, "fork") and items:
            self._workers = _Workers(items, work, min(processes, len(items)))

    @property
    def seconds(self) -> float:
        return self._stage.seconds

    def _results(self) -> Iterator[tuple[T, Any]]:
        stage = self._stage
        if self._workers is not None:
            yield from self._workers.results(stage, self._track)
            return
        for item in self._items:
            started = time.perf_counter()
            with self._track(item):
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
        if self._workers is not None:
            self._workers.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stage.stop.set()
        self._thread.join()
        if self._workers is not None:
            self._workers.stop()

    def __iter__(self) -> Iterator[Any]:
        stage = self._stage
        while (result := stage.get()) is not _DONE:
            yield result
        if stage.error is not None:
            raise stage.error


class _Workers(Generic[T]):
    """Forked processes that run ``work`` on every ``count``-th item (process ``n`` from item ``n``)
    and send each result back through their own pipe, so results are gathered in order. A pipe holds
    only a few results, so the processes stay a bounded distance ahead of the gathering thread.

    Not ``multiprocessing.Pool.imap``, whose ordered map looks the same: its workers run ahead without
    bound (every result waits in the parent's memory), and a worker killed by the kernel (out of
    memory) leaves ``imap`` waiting forever for its item instead of naming the file."""

    def __init__(self, items: list[T], work: Callable[[T], Any], count: int) -> None:
        self._items = items
        self._work = work
        self._count = count
        self._pids: list[int] = []
        self._pipes: list[Connection] = []

    def start(self) -> None:
        # Objects that exist now are never collected in a child, so its collector does not touch
        # (and copy) the parent's pages: the model's modules, Dagster's, the parsers'.
        gc.freeze()
        try:
            self._fork()
        except BaseException:
            self.stop()
            raise
        finally:
            gc.unfreeze()

    def _fork(self) -> None:
        for n in range(self._count):
            receive, send = os.pipe()
            with warnings.catch_warnings():  # 3.12 warns about forking a threaded process:
                warnings.simplefilter("ignore", DeprecationWarning)  # the child only parses
                pid = os.fork()
            if pid == 0:  # pragma: no cover (runs in the child; its results are checked)
                os.close(receive)
                _serve(self._items[n :: self._count], self._work, Connection(send, readable=False))
            os.close(send)
            self._pids.append(pid)
            self._pipes.append(Connection(receive, writable=False))

    def results(
        self, stage: _Stage, track: Callable[[T], AbstractContextManager[Any]]
    ) -> Iterator[tuple[T, Any]]:
        """``(item, result)`` for every item in order, each wait inside ``track(item)``; raises a
        process's error, or stops quietly once ``stage`` is stopped."""
        for index, item in enumerate(self._items):
            pipe = self._pipes[index % self._count]
            with track(item):
                while not pipe.poll(_POLL_SECONDS):
                    if stage.stop.is_set():
                        return
                try:
                    failed, value, seconds = pipe.recv()
                except EOFError:
                    raise RuntimeError(f"a parsing process died while working on {item!r}") from None
            stage.seconds += seconds
            if failed:
                raise value
            yield item, value

    def stop(self) -> None:
        """Kill the processes (those still working are no longer wanted) and reap them."""
        for pid in self._pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for pipe in self._pipes:
            pipe.close()
        self._pids, self._pipes = [], []


def _serve(items: list[Any], work: Callable[[Any], Any], pipe: Connection) -> None:  # pragma: no cover
    """A child's life: send ``(failed, result or error, seconds)`` for each item, then exit (without
    the parent's exit handlers, which would close its connections)."""
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):  # the parent's handlers are not this process's
            signal.signal(sig, signal.SIG_DFL)
        for item in items:
            started = time.perf_counter()
            try:
                failed, value = False, work(item)
            except BaseException as exc:
                failed, value = True, _picklable(exc)
            pipe.send((failed, value, time.perf_counter() - started))
            if failed:
                break
        pipe.close()
    except OSError:  # the parent stopped reading (it failed, or it has all it needs)
        pass
    finally:
        os._exit(0)


def _picklable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class WriteBehind:
    """Runs submitted writes (callables) in a thread, in order; a context manager.

    :meth:`submit_all` hands over writes that may run side by side (files of a group, each in its own
    transaction): with ``threads`` > 1 they run on that many threads, each on its own connection, and
    the next submission waits until all of them are done. :meth:`submit` raises the writer's error as
    soon as it is known; leaving the block waits for the queued writes (unless the block raised) and
    raises the writer's error if there was one.
    """

    def __init__(self, depth: int = 2, threads: int = 1) -> None:
        self._stage = _Stage(depth)
        self._thread = threading.Thread(target=self._run, name="mnemo-writer", daemon=True)
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None

    @property
    def seconds(self) -> float:
        """Time spent writing (the writer's wall time; side-by-side writes count once)."""
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

    def _run_all(self, writes: list[Callable[[], None]]) -> None:
        if self._pool is None or len(writes) < 2:
            for write in writes:
                write()
            return
        futures = [self._pool.submit(write) for write in writes]
        for future in futures:  # the first error in order; the rest finish or were never started
            if future.exception() is not None:
                for pending in futures:
                    pending.cancel()
                raise future.exception()  # type: ignore[misc]

    def _raise_error(self) -> None:
        error = self._stage.error
        if error is not None:
            raise error

    def submit(self, write: Callable[[], None]) -> None:
        """Queue ``write`` (waits while ``depth`` submissions are queued)."""
        self._raise_error()
        if not self._stage.put(write):
            self._raise_error()

    def submit_all(self, writes: list[Callable[[], None]]) -> None:
        """Queue ``writes``, which may run side by side, as one submission."""
        self.submit(lambda: self._run_all(writes))

    def __enter__(self) -> WriteBehind:
        if self._threads > 1:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="mnemo-writer")
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._stage.put(_DONE)
        else:
            self._stage.stop.set()
        self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
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
