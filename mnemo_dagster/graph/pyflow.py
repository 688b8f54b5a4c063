"""Solve the flow facts of one Python module: which functions and classes each of its calls reaches.

A context-insensitive assignment analysis in the spirit of PyCG: every name, attribute, container item
and return holds a set of abstract values, and the facts of :mod:`.pyfacts` are applied until no set
grows: sweeps over the facts in their order apply again only those that read a set that grew, and a
set stops at :data:`~.pyflow_state.LIMIT` values. It is flow-insensitive but for the top level of a
scope's body, where an assignment replaces what the name held for the reads after it (:mod:`.pyfacts`
numbers those versions).
It runs at index time, one module at a time, so what other modules define stays symbolic and
:mod:`.pylink` resolves it when the graph is built. Values are:

- a qualified name of the module (``::User.save``): a function, method, class or lambda;
- ``("i", class)``: an instance of a class of the module; ``("I", class, method)``: ``self`` of a
  method no call of the module reached, an instance of that class or of any subclass that inherits
  ``method``;
- ``("v", class, attr)``: a method looked up on such a ``self``, dispatched by :mod:`.pylink` to the
  class's method and the overrides of its subclasses across the repository;
- ``("x", spec, name, step...)``: something another module defines: an import followed by attribute
  steps and ``"()"`` (calling it), e.g. ``nx.Graph().add_edge`` -> ``("x", "networkx", None, "Graph",
  "()", "add_edge")``; a builtin the module reads is ``("x", "builtins", "len")``;
- ``("s", class, instance class)``: what ``super()`` returns inside a method of ``class`` when
  ``self`` is an instance of ``instance class`` (the lookup starts after ``class`` in its MRO);
- ``("c", site, kind)``: a list, tuple or set (``"s"``) or dict (``"d"``) built at a site, whose items
  are kept by literal key (``None``: stored under a key that is no literal), so ``[f, g][0]`` reaches
  ``f`` alone; a subscript that is no literal reaches every item of that container, never those of
  others;
- ``("g", function)``: what calling a generator function returns; iterating it gives what it yields;
- ``("P", function, n)``: ``functools.partial`` of a function with ``n`` positional arguments bound;
- ``("b", method, instance)``: a method looked up on an instance (or a classmethod on a class) and not
  called at once (``handler = self.on_click``), which gets the instance as its first parameter.

Calling a class gives an instance and binds ``__init__`` found along the C3 MRO; a method looked up
on an instance or through ``super()`` gets the instance as its first parameter. ``self``/``cls`` hold
what calls bind to them; a method no call reaches gets an instance of / the class that defines it.
A call whose callee holds nothing (unknown receivers) stays unresolved: it is counted, never guessed.
Containers and generators do not leave the module: a summary holds their items instead.

The solver is split by what it reasons about, over one shared state (:mod:`.pyflow_state`):
expressions (:mod:`.pyflow_values`), classes and attributes (:mod:`.pyflow_classes`) and calls
(:mod:`.pyflow_calls`); this module applies the facts until nothing grows.
"""

from __future__ import annotations

from typing import Any

from mnemo_dagster.graph.pyfacts import KEYS
from mnemo_dagster.graph.pyflow_calls import FlowCalls
from mnemo_dagster.graph.pyflow_classes import FlowClasses
from mnemo_dagster.graph.pyflow_state import CLASS_SELF, NO_SELF, Value
from mnemo_dagster.graph.pyflow_values import FlowValues
from mnemo_dagster.models import qualified_name

_MAX_PASSES = 12
"""Most sweeps over the facts (real code needs two or three)."""
SUMMARY_VERSION = 3


class PythonFlow(FlowValues, FlowClasses, FlowCalls):
    """The points-to state of a module's Python facts and the call edges it implies: the state is
    :class:`~.pyflow_state.FlowState`'s, solved here."""

    def solve(self) -> None:
        """Apply every fact, then again each whose reads grew, until nothing grows (or
        :data:`_MAX_PASSES` sweeps, which real code does not need).

        ``self`` holds the instances that calls bind to it; only methods that no call reached (entry
        points, callbacks of frameworks) then get an instance of their own class, and solving goes on.
        """
        self._enqueue(range(len(self._units)))
        self._drain()
        if self._seed_self():
            self._drain()
        if self._unkeyed:
            # A table indexed by a name that still holds nothing (a parameter no call of this module
            # binds) may give any of its items, once no literal key can arrive any more.
            self._any_key = True
            self._enqueue(sorted(self._unkeyed))
            self._drain()

    def _seed_self(self) -> bool:
        """Give ``self``/``cls`` of each method that nothing called yet an instance of / its class."""
        seeded = False
        for path, facts in self.facts.items():
            scopes = facts["scopes"]
            for scope, info in scopes.items():
                parent = info[1]
                if info[0] != "function" or not info[2] or info[2][0][1] != "" or parent is None:
                    continue
                if scopes.get(parent, ["?"])[0] != "class" or NO_SELF & set(info[3]):
                    continue
                slot = self.vars[(path, scope, info[2][0][0])]
                if not slot:
                    cls = qualified_name(path, parent)
                    method = scope.rpartition(".")[2]
                    self._add(slot, {cls if CLASS_SELF & set(info[3]) else ("I", cls, method)})
                    seeded = True
        return seeded

    def _drain(self) -> None:
        """Sweep the facts in their order, applying those whose reads grew since they were applied,
        until a sweep applies none (the order makes the result the same from run to run, even where
        :data:`~.pyflow_state.LIMIT` cuts a set)."""
        units, dirty = self._units, self._dirty
        for _ in range(_MAX_PASSES):
            if not self._pending:
                break
            self._pending = False
            unit = dirty.find(1)
            while unit >= 0:
                dirty[unit] = 0
                self.applied += 1
                self._reader = unit
                part, path, index, fact = units[unit]
                if part == "assign":
                    self._assign(path, *fact)
                elif part == "calls":
                    scope, _, callee, args, kwargs, *flag = fact
                    self._call(path, scope, index, callee, args, kwargs, flag[0] if flag else 0)
                else:
                    into = self.rets if part == "returns" else self.yields
                    self._add(into[self._qualify(path, fact[0])], self.eval(path, fact[0], fact[1]))
                if self._over:
                    self._cut()
                unit = dirty.find(1, unit + 1)
        self._reader = None

    def _assign(self, path: str, scope: str, target: list[Any], expr: list[Any]) -> None:
        values = self.eval(path, scope, expr)
        if not values:
            return
        kind = target[0]
        if kind == "n":
            self._add(self.vars[(path, scope, target[1])], values)
            if len(target) > 2:
                self._add(self.vars[(path, scope, f"{target[1]}@{target[2]}")], values)
        elif kind == "k":
            for obj in list(self.eval(path, scope, target[1])):
                if isinstance(obj, tuple) and obj[0] == "c":
                    self._add_item(obj, target[2], values)
        elif kind == "v":
            self._add(self.vars[(path, target[1], target[2])], values)
        elif kind == "a":
            for obj in list(self.eval(path, scope, target[1])):
                self._add(self._field_store(obj, target[2]), values)
        elif kind == "*":
            for value in values:
                if value[0] == "x" and value[2] is None and value[1] not in self.stars[path]:
                    self.stars[path].append(value[1])
                    self._enqueue(range(len(self._units)))  # names may now come from that module


_HOLDERS = frozenset({"c", "g", "P", "b"})
"""Kinds of values that hold others and stay inside the module."""


def flatten(flow: PythonFlow, values: Any) -> Any:
    """Values with containers and generators replaced by what they hold (their items, not a dict's
    keys; what a generator yields), for what leaves the module."""
    if not any(type(v) is tuple and v[0] in _HOLDERS for v in values):
        return values
    found: set[Value] = set()
    pending = list(values)
    seen: set[Value] = set()
    while pending:
        value = pending.pop()
        if value in seen:
            continue
        seen.add(value)
        if isinstance(value, tuple) and value[0] == "c":
            pending += [v for key, vs in flow.items.get(value, {}).items() if key != KEYS for v in vs]
        elif isinstance(value, tuple) and value[0] == "g":
            pending += flow.yields.get(value[1], ())
        elif isinstance(value, tuple) and value[0] in ("P", "b"):
            pending.append(value[1])
        else:
            found.add(value)
    return found
