"""Memoized lookups whose answers do not depend on the order they are asked in, and that record
what they read.

Resolution is recursive (a name re-exported through modules, a function returning what another
returns, a class's bases) and may meet itself. A lookup that meets one still in progress takes a
stand-in for it (an empty set); the answer then depends on where the cycle was entered, so it is
kept only while the lookup that entered the cycle runs, and cached for good only when it met no
lookup still in progress below its own (Tarjan's low link). So every cached answer, and every answer
a query gets, is a function of the repository and of the question alone: a graph built from a
subset of its files, in any order, gets the edges a full build gets (what the incremental refresh
relies on; :mod:`mnemo_dagster.graph.incremental`).

Each lookup also records what it **read**: tokens (a file's path, or a global table's name) that a
caller adds with :meth:`Memo.read`. A cached answer carries its reads, and every lookup that uses it
inherits them, so a query's reads say which changes can change its answer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Frame:
    key: Hashable
    reads: set[Hashable] = field(default_factory=set)
    low: int = 1 << 30
    """The lowest stack depth of a lookup in progress that this one met (directly or through
    another); below its own depth, its answer depends on the stack."""
    scoped: list[Hashable] = field(default_factory=list)
    """Answers that met this lookup in progress: they are dropped when it ends."""


class Memo:
    """Memoized lookups of one repository, order-independent, with what each read."""

    def __init__(self) -> None:
        self._done: dict[Hashable, tuple[Any, frozenset[Hashable]]] = {}
        self._scoped: dict[Hashable, tuple[Any, frozenset[Hashable], int]] = {}
        self._active: dict[Hashable, int] = {}
        self._stack: list[_Frame] = []

    def read(self, token: Hashable) -> None:
        """Record that the lookup (or query) in progress read ``token``."""
        if self._stack:
            self._stack[-1].reads.add(token)

    def lookup(self, key: Hashable, compute: Callable[[], T], meeting: T) -> T:
        """The answer for ``key``, computed once; ``meeting`` stands for it inside its own cycle."""
        done = self._done.get(key)
        if done is not None:
            self._inherit(done[1], 1 << 30)
            return done[0]
        scoped = self._scoped.get(key)
        if scoped is not None:
            self._inherit(scoped[1], scoped[2])
            return scoped[0]
        depth = self._active.get(key)
        if depth is not None:  # a cycle: the answer in progress stands as ``meeting`` for now
            if self._stack:
                self._stack[-1].low = min(self._stack[-1].low, depth)
            return meeting
        return self._compute(key, compute)

    def query(self, compute: Callable[[], T]) -> tuple[T, frozenset[Hashable]]:
        """Run ``compute`` as a query of its own (not cached); returns its answer and what it read."""
        frame = _Frame(("query", len(self._stack)))
        self._stack.append(frame)
        try:
            answer = compute()
        finally:
            self._stack.pop()
            self._drop(frame)
        reads = frozenset(frame.reads)
        self._inherit(reads, frame.low)
        return answer, reads

    def _compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        depth = len(self._stack)
        frame = _Frame(key)
        self._stack.append(frame)
        self._active[key] = depth
        try:
            answer = compute()
        finally:
            self._stack.pop()
            del self._active[key]
            self._drop(frame)
        reads = frozenset(frame.reads)
        if frame.low >= depth:
            self._done[key] = (answer, reads)
        else:  # it met a lookup below it still in progress: kept while that one runs
            self._scoped[key] = (answer, reads, frame.low)
            self._stack[frame.low].scoped.append(key)
        self._inherit(reads, frame.low)
        return answer

    def _inherit(self, reads: frozenset[Hashable], low: int) -> None:
        if self._stack:
            top = self._stack[-1]
            top.reads |= reads
            top.low = min(top.low, low)

    def _drop(self, frame: _Frame) -> None:
        for key in frame.scoped:
            self._scoped.pop(key, None)
