"""The state of the Python flow analysis (:mod:`.pyflow`): the sets each name, attribute, item
and return holds, and how a set that grows schedules the facts that read it again.

:class:`FlowState` holds them. :class:`~.pyflow.PythonFlow` solves the facts with three parts that
share that state: expressions (:mod:`.pyflow_values`), classes and attributes (:mod:`.pyflow_classes`)
and calls (:mod:`.pyflow_calls`). The parts call one another's methods through ``self``.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from typing import Any

from mnemo_dagster.models import qualified_name

Value = Any
"""An abstract value (see :mod:`.pyflow`): a qualified name, or a tuple whose first item is its kind."""
LIMIT = 256
"""Most values one set holds (real code stays under 100): beyond, an analysis that merged that much
would only add calls no one can trust, and time (generated and symbolic-math code)."""
EMPTY: frozenset[Any] = frozenset()
MAX_STEPS = 8
"""Longest symbolic value (``("x", spec, name, step, ...)``); ``node = node.parent`` loops stop here."""
BUILTIN_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_")) - {
    "staticmethod",
    "classmethod",
    "property",
}
"""Names a module reads without binding them (``len``, ``open``, ``ValueError``): another module's,
``builtins``, unless a ``*`` import may bind them. The decorators that only mark a method are left
out: applying them is no call a reader looks for."""
HERE = ""
"""The path of the one module a solver sees (qualified names come out as ``::A.m``)."""
WITH_METHODS = frozenset({"__enter__", "__aenter__", "__exit__", "__aexit__"})
"""Special methods of ``with``: on another module's object, any object (see :mod:`.pylink`)."""
NO_SELF = frozenset({"staticmethod"})
"""Decorators whose function gets no ``self``."""
CLASS_SELF = frozenset({"classmethod"})
"""Decorators whose function gets the class as its first parameter."""


class FlowState:
    """The points-to state of one module's facts, and the bookkeeping that re-applies a fact when a
    set it read grows."""

    def __init__(self, facts: dict[str, Any]) -> None:
        """``facts``: what :func:`~.pyfacts.python_facts` found in one module."""
        self.facts = {HERE: facts}
        self.vars: dict[tuple[str, str, str], set[Value]] = defaultdict(set)
        self.fields: dict[tuple[Value, str], set[Value]] = defaultdict(set)
        self.rets: dict[str, set[Value]] = defaultdict(set)
        self.yields: dict[str, set[Value]] = defaultdict(set)
        self.generators: set[str] = set()
        self.items: dict[Value, dict[str | None, set[Value]]] = defaultdict(dict)
        """Container -> literal key (None: any other) -> what is stored there."""
        self.sites: dict[tuple[str, int], set[Value]] = defaultdict(set)
        self.locals: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.stars: dict[str, list[str]] = defaultdict(list)
        self.scope_info: dict[str, list[Any]] = {}
        """Qualified scope -> [kind, parent scope, params, decorator names, bases, path, scope]."""
        self.callees: dict[int, set[Value]] = defaultdict(set)
        """Call site index -> the values its callee held (what it calls)."""
        self.applied = 0
        """How many facts solving applied (each fact once, then again when what it read grew)."""
        self._mro: dict[str, tuple[list[str], set[int]]] = {}
        """Class -> (its MRO, the sets computing it read), until one of those sets grows."""
        self._mro_sets: set[int] = set()
        self._unkeyed: set[int] = set()
        """Units that read a table at a name's key while the name held nothing."""
        self._any_key = False
        """Whether such a read may now give any item (after the rest has settled)."""
        self._where: dict[tuple[str, str, str], tuple[str, str, str] | None] = {}
        self._units: list[tuple[str, str, int, list[Any]]] = [
            (part, path, i, fact)
            for path, facts in self.facts.items()
            for part in ("assign", "returns", "yields", "calls")
            for i, fact in enumerate(facts.get(part, ()))
        ]
        """The facts to apply: (which list, path, index in the list, the fact)."""
        self._readers: dict[int, set[int]] = defaultdict(set)
        """``id`` of a set -> the units that read it (applied again when it grows)."""
        self._markers: dict[Value, set[Value]] = defaultdict(set)
        """Container -> a set that stands for all its items, for the readers of any of them."""
        self._reader: int | None = None
        self._reads: set[int] | None = None
        self._dirty = bytearray(len(self._units))
        """1 for each fact to apply (again) in the current or the next sweep."""
        self._pending = False
        self._over: list[set[Value]] = []
        self._full: set[int] = set()
        """``id`` of each set cut at :data:`LIMIT`, which grows no more."""
        self._prepare()

    @property
    def passes(self) -> float:
        """Facts applied per fact: what a solver that applies every fact per pass would call passes."""
        return self.applied / max(len(self._units), 1)

    def _prepare(self) -> None:
        for path, facts in self.facts.items():
            for scope, info in facts["scopes"].items():
                self.scope_info[qualified_name(path, scope) if scope else path] = [*info, path, scope]
                if info[0] in ("function", "lambda"):
                    self.locals[(path, scope)].update(p[0] for p in info[2])
            self.generators.update(self._qualify(path, g) for g in facts.get("generators", ()))
            for scope, target, _ in facts["assign"]:
                if target[0] == "n":
                    self.locals[(path, scope)].add(target[1])
                elif target[0] == "v":
                    self.locals[(path, target[1])].add(target[2])

    def _enqueue(self, units: Any) -> None:
        dirty = self._dirty
        for unit in units:
            dirty[unit] = 1
        self._pending = True

    def _cut(self) -> None:
        """Sets that grew past :data:`LIMIT` keep the first values in a fixed order and stay so."""
        for cell in self._over:
            if len(cell) > LIMIT:
                keep = sorted(cell, key=repr)[:LIMIT]
                cell.clear()
                cell.update(keep)
            self._full.add(id(cell))
        self._over.clear()

    def _read(self, cell: set[Value]) -> set[Value]:
        """A set the fact being applied reads: when it grows, the fact is applied again."""
        if self._reader is not None:
            self._readers[id(cell)].add(self._reader)
        if self._reads is not None:
            self._reads.add(id(cell))
        return cell

    def _add(self, target: set[Value], values: set[Value]) -> None:
        if values and not values <= target:
            key = id(target)
            if key in self._full:
                return
            target |= values
            if len(target) > LIMIT:
                self._over.append(target)
            readers = self._readers.get(key)
            if readers:
                dirty = self._dirty
                for unit in readers:
                    dirty[unit] = 1
                self._pending = True
            if key in self._mro_sets:
                self._mro.clear()
                self._mro_sets.clear()

    def _add_item(self, container: Value, key: str | None, values: set[Value]) -> None:
        """Store into a container's item; whoever read any of its items reads again."""
        slot = self._slot(container, key)
        if values and not values <= slot and id(slot) not in self._full:
            slot |= values
            if len(slot) > LIMIT:
                self._over.append(slot)
            marker = id(self._markers[container])
            self._enqueue(self._readers.get(marker, ()))
            if marker in self._mro_sets:
                self._mro.clear()
                self._mro_sets.clear()

    def _table(self, container: Value) -> dict[str | None, set[Value]]:
        """A container's items, for a reader of them."""
        self._read(self._markers[container])
        return self.items.get(container) or {}

    def _qualify(self, path: str, scope: str) -> str:
        return qualified_name(path, scope) if scope else path

    def _slot(self, container: Value, key: str | None) -> set[Value]:
        table = self.items[container]
        slot = table.get(key)
        if slot is None:
            slot = table[key] = set()
        return slot

    def _field_store(self, obj: Value, attr: str) -> set[Value]:
        if isinstance(obj, tuple):
            if obj[0] in ("i", "I"):
                return self.fields[(obj[1], attr)]
            return set()
        return self.fields[(obj, attr)]

    def _kind(self, value: str) -> str | None:
        info = self.scope_info.get(value)
        return info[0] if info is not None else None
