"""Solve the flow facts of one Python module: which functions and classes each of its calls reaches.

A context-insensitive assignment analysis in the spirit of PyCG: every name, attribute, container item
and return holds a set of abstract values, and the facts of :mod:`.pyfacts` are applied until no set
grows: sweeps over the facts in their order apply again only those that read a set that grew, and a set
stops at :data:`_LIMIT` values. It is flow-insensitive but for the top level of a scope's body, where an
assignment replaces what the name held for the reads after it (:mod:`.pyfacts` numbers those versions).
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
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from typing import Any

from mnemo_dagster.graph.pyfacts import BIND, DUNDER, KEYS, RAISE
from mnemo_dagster.models import qualified_name

Value = Any
_MAX_PASSES = 12
"""Most sweeps over the facts (real code needs two or three)."""
_LIMIT = 256
"""Most values one set holds (real code stays under 100): beyond, an analysis that merged that much
would only add calls no one can trust, and time (generated and symbolic-math code)."""
_EMPTY: frozenset[Any] = frozenset()
_MAX_STEPS = 8
"""Longest symbolic value (``("x", spec, name, step, ...)``); ``node = node.parent`` loops stop here."""
SUMMARY_VERSION = 3
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
_WITH = frozenset({"__enter__", "__aenter__", "__exit__", "__aexit__"})
"""Special methods of ``with``: on another module's object, any object (see :mod:`.pylink`)."""
_NO_SELF = frozenset({"staticmethod"})
_CLASS_SELF = frozenset({"classmethod"})


class PythonFlow:
    """The points-to state of a repository's Python files and the call edges it implies."""

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
        """``id`` of each set cut at :data:`_LIMIT`, which grows no more."""
        self._prepare()

    @property
    def passes(self) -> float:
        """Facts applied per fact: what a solver that applies every fact per pass would call passes."""
        return self.applied / max(len(self._units), 1)

    # -- setup -----------------------------------------------------------------------------------

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

    def _seed_self(self) -> bool:
        """Give ``self``/``cls`` of each method that nothing called yet an instance of / its class."""
        seeded = False
        for path, facts in self.facts.items():
            scopes = facts["scopes"]
            for scope, info in scopes.items():
                parent = info[1]
                if info[0] != "function" or not info[2] or info[2][0][1] != "" or parent is None:
                    continue
                if scopes.get(parent, ["?"])[0] != "class" or _NO_SELF & set(info[3]):
                    continue
                slot = self.vars[(path, scope, info[2][0][0])]
                if not slot:
                    cls = qualified_name(path, parent)
                    method = scope.rpartition(".")[2]
                    self._add(slot, {cls if _CLASS_SELF & set(info[3]) else ("I", cls, method)})
                    seeded = True
        return seeded

    # -- solving ---------------------------------------------------------------------------------

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

    def _enqueue(self, units: Any) -> None:
        dirty = self._dirty
        for unit in units:
            dirty[unit] = 1
        self._pending = True

    def _drain(self) -> None:
        """Sweep the facts in their order, applying those whose reads grew since they were applied,
        until a sweep applies none (the order makes the result the same from run to run, even where
        :data:`_LIMIT` cuts a set)."""
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

    def _cut(self) -> None:
        """Sets that grew past :data:`_LIMIT` keep the first values in a fixed order and stay so."""
        for cell in self._over:
            if len(cell) > _LIMIT:
                keep = sorted(cell, key=repr)[:_LIMIT]
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
            if len(target) > _LIMIT:
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
            if len(slot) > _LIMIT:
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

    # -- expressions -----------------------------------------------------------------------------

    def eval(self, path: str, scope: str, expr: list[Any]) -> set[Value]:
        """The values an expression of the facts can hold now."""
        kind = expr[0]
        if kind == "n":
            if len(expr) > 2:
                return self._read(self.vars[(path, scope, f"{expr[1]}@{expr[2]}")])
            return self.lookup(path, scope, expr[1])
        if kind == "a":
            found: set[Value] = set()
            for obj in self.eval(path, scope, expr[1]):
                for value, receiver in self._bound(obj, expr[2]):
                    found.add(value if receiver is None else ("b", value, receiver))
            return found
        if kind == "r":
            return self._read(self.sites[(path, expr[1])])
        if kind == "f":
            return {self._qualify(path, expr[1])}
        if kind == "u":
            union: set[Value] = set()
            for part in expr[1]:
                union |= self.eval(path, scope, part)
            return union
        if kind == "M":
            return self._module(path, expr[1], expr[2])
        if kind == "S":
            return self._super(path, scope, expr[1])
        if kind == "D":
            return self._decorated(path, scope, expr[1], expr[2])
        if kind == "c":
            return {("c", expr[1], expr[2])}
        if kind == "k":
            found = set()
            for obj in self.eval(path, scope, expr[1]):
                found |= self.item(obj, expr[2], strict=len(expr) > 3)
            return found
        if kind == "e":
            found = set()
            for obj in self.eval(path, scope, expr[1]):
                found |= self.elements(obj, expr[2])
            return found
        if kind == "K":
            keys = self.eval(path, scope, expr[2]) if expr[2] is not None else _EMPTY
            literals = sorted(k[1] for k in keys if isinstance(k, tuple) and k[0] == "L")
            if not keys and not self._any_key:
                self._unkeyed.add(self._reader)
                return set()
            chosen: list[str | None] = literals if keys and len(literals) == len(keys) else [None]
            return {
                v for obj in self.eval(path, scope, expr[1]) for key in chosen for v in self.item(obj, key)
            }
        if kind == "L":
            return {("L", expr[1])}
        if kind == "d":
            return self._derived(expr[1], self.eval(path, scope, expr[2]), expr[3])
        if kind == "i":
            return self._instances(self.eval(path, scope, expr[1]))
        if kind == "w":
            return self._entered(self.eval(path, scope, expr[1]))
        if kind == "P":
            return {
                v if isinstance(v, tuple) and v[0] == "x" else ("P", v, expr[2])
                for v in self.eval(path, scope, expr[1])
                if isinstance(v, str) or v[0] in ("x", "b")
            }
        return set()

    # -- containers and generators ---------------------------------------------------------------

    def item(self, obj: Value, key: str | None, *, strict: bool = False) -> set[Value]:
        """``obj[key]``: a container's item (any item for a key that is no literal). A class gives
        itself (``Base[T]``) and another module's value itself (its containers arrive flattened),
        unless ``strict`` (``d.get(k)``: only containers answer)."""
        if isinstance(obj, str):
            return {obj} if not strict and self._kind(obj) == "class" else set()
        if obj[0] == "c":
            table = self._table(obj)
            if key is None:
                return {v for k, values in table.items() if k != KEYS for v in values}
            return table.get(key, _EMPTY) | table.get(None, _EMPTY)
        return {obj} if obj[0] == "x" and not strict else set()

    def elements(self, obj: Value, how: str) -> set[Value]:
        """What iterating ``obj`` gives (a dict's keys; its values when ``how`` has ``v``); another
        module's value stays itself unless ``how`` has ``c`` (only containers answer)."""
        if not isinstance(obj, tuple):
            return set()
        if obj[0] == "c":
            table = self._table(obj)
            if obj[2] == "d":
                values = "v" in how
                return {v for k, found in table.items() if (k != KEYS) == values for v in found}
            return {v for found in table.values() for v in found}
        if obj[0] == "g" and "c" not in how:
            return self._read(self.yields[obj[1]])
        return {obj} if obj[0] == "x" and "c" not in how else set()

    def _derived(self, site: int, sources: set[Value], mode: list[Any]) -> set[Value]:
        """The container built at ``site`` from the containers among ``sources`` (see :mod:`.pyfacts`:
        all items but one, a copy, or a slice); a new version of a name keeps what is no container."""
        found: set[Value] = set()
        for source in sources:
            if isinstance(source, tuple) and source[0] == "c":
                new = ("c", site, source[2])
                found.add(new)
                for key, values in list(self._table(source).items()):
                    if mode[0] == "x" and key == mode[1]:
                        continue
                    if mode[0] == "s" and key != KEYS:
                        start, stop = mode[1], mode[2]
                        if start is None or key is None or not key.isdigit():
                            key = None
                        elif start <= int(key) and (stop is None or int(key) < stop):
                            key = str(int(key) - start)
                        else:
                            continue
                    self._add_item(new, key, values)
            elif mode[0] == "x" or (mode[0] == "s" and isinstance(source, tuple) and source[0] == "x"):
                found.add(source)
        return found

    def _instances(self, classes: set[Value]) -> set[Value]:
        """Instances of the classes among ``classes`` (and in containers of them): ``except E as e``."""
        found: set[Value] = set()
        for value in classes:
            for cls in (
                self.elements(value, "c") if isinstance(value, tuple) and value[0] == "c" else (value,)
            ):
                if isinstance(cls, str) and self._kind(cls) == "class":
                    found.add(("i", cls))
                elif isinstance(cls, tuple) and cls[0] == "x" and len(cls) < _MAX_STEPS:
                    found.add((*cls, "()"))
        return found

    def _entered(self, contexts: set[Value]) -> set[Value]:
        """What ``with`` binds besides what ``__enter__`` returns: an instance whose class has no
        ``__enter__`` here and another module's object (their ``__enter__`` is assumed to return
        ``self``), a generator's first yield (``@contextmanager``)."""
        found: set[Value] = set()
        for value in contexts:
            if not isinstance(value, tuple):
                continue
            if value[0] == "g":
                found |= self._read(self.yields[value[1]])
            elif value[0] == "x" or (
                value[0] in ("i", "I") and not self._member(self.mro(value[1]), "__enter__")
            ):
                found.add(value)
        return found

    def _decorated(self, path: str, scope: str, site: int, inner: list[Any]) -> set[Value]:
        """A decorated definition: what a decorator of the repository returns, else the definition."""
        callee = self.facts[path]["calls"][site][2]
        if callee is not None and any(
            self._kind(value[1] if isinstance(value, tuple) and value[0] == "b" else value)
            in ("function", "lambda", "class")
            for value in self.eval(path, scope, callee)
        ):
            return self._read(self.sites[(path, site)])
        return self.eval(path, scope, inner)

    def _super(self, path: str, scope: str, cls_scope: str) -> set[Value]:
        """``super()`` in a method: one value per class of the instances its ``self`` holds."""
        if not cls_scope:
            return set()
        cls = self._qualify(path, cls_scope)
        method = scope
        while self.facts[path]["scopes"].get(method, ["?", None])[1] not in (cls_scope, None):
            method = self.facts[path]["scopes"][method][1]
        params = self.facts[path]["scopes"].get(method, ["?", None, []])[2]
        selves = self._read(self.vars[(path, method, params[0][0])]) if params else set()
        # No fallback to ``cls`` while ``self`` is empty: edges never shrink, so a guess made before
        # the instances arrive would stay. Methods nothing calls get their own instance in solve().
        return {("s", cls, v[1]) for v in selves if isinstance(v, tuple) and v[0] in ("i", "I")}

    def lookup(self, path: str, scope: str, name: str) -> set[Value]:
        """A name from ``scope``: local, enclosing functions (not classes), module, ``*`` imports."""
        key = (path, scope, name)
        where = self._where.get(key, False)
        if where is False:
            where = self._where[key] = self._scope_of(path, scope, name)
        if where is not None:
            return self._read(self.vars[where])
        stars = self.stars.get(path, ())
        if not stars and name in BUILTIN_NAMES:
            return {("x", "builtins", name)}  # the graph's ``<builtin>::name``
        return {("x", module, name) for module in stars}

    def _scope_of(self, path: str, scope: str, name: str) -> tuple[str, str, str] | None:
        """The variable a name in ``scope`` denotes (scopes and their names never change)."""
        scopes = self.facts[path]["scopes"]
        current: str | None = scope
        first = True
        while current is not None:
            info = scopes.get(current)
            if info is None:
                break
            if name in self.locals.get((path, current), ()) and (first or info[0] != "class"):
                return (path, current, name)
            current, first = info[1], False
        return None

    def _module(self, path: str, spec: str, name: str | None) -> set[Value]:
        return {("x", spec, name)}

    def module_attribute(self, module: str, name: str) -> set[Value]:
        """A name imported with ``from m import *``: another module's, resolved at graph time."""
        return {("x", module, name)}

    def attribute(self, obj: Value, attr: str) -> set[Value]:
        """An attribute of a value: instance fields, then class members along the MRO."""
        if isinstance(obj, str):
            if self._kind(obj) != "class":
                return set()
            return self._class_attribute(self.mro(obj), attr, ())
        kind = obj[0]
        if kind == "x":
            return {(*obj, attr)} if len(obj) < _MAX_STEPS else set()
        if kind == "I":
            return self._virtual(obj[1], attr, obj[2] if len(obj) > 2 else None)
        if kind == "s":
            order = self.mro(obj[2])
            after = order[order.index(obj[1]) + 1 :] if obj[1] in order else self.mro(obj[1])[1:]
            return self._class_attribute(after, attr, ("()",))
        if kind != "i":
            return set()  # containers, generators and partials: their methods are builtins
        if attr == "__class__":
            return {obj[1]}
        return self._instance_field(obj[1], attr) or self._instance_member(obj[1], attr)

    def _instance_field(self, cls: str, attr: str) -> set[Value]:
        """What methods assigned to ``self.attr`` in the first class along the MRO that does so, unless
        an earlier class defines ``attr`` in its body."""
        for base in self.mro(cls):
            found = self._read(self.fields[(base, attr)])
            if found:
                return found
            if self._member([base], attr):
                return set()
        return set()

    def _instance_member(self, cls: str, attr: str) -> set[Value]:
        """``attr`` of an instance from the class bodies along the MRO (or a base of another module)."""
        return self._class_attribute(self.mro(cls), attr, ("()",))

    def _virtual(self, cls: str, attr: str, caller: str | None = None) -> set[Value]:
        """An attribute of ``self`` in a method no call of this module reached: ``self`` may be an
        instance of any subclass, in any module, so a method (or a name the class does not define)
        becomes ``("v", class, attr, caller)``, which the graph dispatches along the class hierarchy to
        the subclasses on which ``caller`` (the method whose ``self`` it is) runs. What the methods
        assign to ``self.attr`` stays what it is (``self.seg = Segmentation()``)."""
        if attr == "__class__":
            return {cls}
        field = self._instance_field(cls, attr)
        if field:
            return field
        values = self._instance_member(cls, attr)
        methods = {v for v in values if isinstance(v, str) and self._kind(v) == "function"}
        inherited = {v for v in values if isinstance(v, tuple) and v[0] == "x"}
        if methods or inherited or not values:
            virtual = ("v", cls, attr, caller) if caller else ("v", cls, attr)
            return (values - methods - inherited) | {virtual}
        return values

    def _inherited(self, classes: list[str], attr: str, step: tuple[str, ...]) -> set[Value]:
        """``attr`` from a base class of another module: resolved at graph time."""
        return {(*base, *step, attr) for cls in classes for base in self._external_bases(cls)}

    def _external_bases(self, cls: str) -> list[Value]:
        info = self.scope_info.get(cls)
        if info is None:
            return []
        return [
            value
            for base in info[4]
            for value in self.eval(info[5], info[1] or "", base)
            if isinstance(value, tuple) and value[0] == "x" and len(value) < _MAX_STEPS
        ]

    def _class_attribute(self, classes: list[str], attr: str, step: tuple[str, ...]) -> set[Value]:
        """``attr`` from the first class along ``classes`` that defines it (what it holds, maybe
        nothing: ``RED = 1``), else from a base class of another module."""
        for cls in classes:
            info = self.scope_info.get(cls)
            if info is None:
                continue
            if attr in self.locals.get((info[5], info[6]), ()):
                return self._read(self.vars[(info[5], info[6], attr)])
            found = self._read(self.fields[(cls, attr)])
            if found:
                return found
        return self._inherited(classes, attr, step)

    def _member(self, classes: list[str], attr: str) -> set[Value]:
        """The first class along ``classes`` that defines ``attr`` in its body (or assigns ``cls.attr``)."""
        for cls in classes:
            info = self.scope_info.get(cls)
            if info is None:
                continue
            path, scope = info[5], info[6]
            if attr in self.locals.get((path, scope), ()):
                return self._read(self.vars[(path, scope, attr)])
            found = self._read(self.fields[(cls, attr)])
            if found:
                return found
        return set()

    def _kind(self, value: str) -> str | None:
        info = self.scope_info.get(value)
        return info[0] if info is not None else None

    def mro(self, cls: str) -> list[str]:
        """The C3 linearization of a class (depth-first when C3 fails), cached until what its bases
        hold grows (a reader of a cached MRO reads what computing it read)."""
        cached = self._mro.get(cls)
        if cached is not None:
            for key in cached[1]:
                if self._reader is not None:
                    self._readers[key].add(self._reader)
                if self._reads is not None:
                    self._reads.add(key)
            return cached[0]
        outer, self._reads = self._reads, set()
        self._mro[cls] = ([cls], self._reads)  # guards against inheritance cycles
        info = self.scope_info.get(cls)
        bases: list[str] = []
        if info is not None:
            for base in info[4]:
                for value in sorted(self.eval(info[5], info[1] or "", base), key=str):
                    if isinstance(value, str) and self._kind(value) == "class" and value not in bases:
                        bases.append(value)
        order = c3_merge([cls], [self.mro(b) for b in bases] + [bases])
        reads, self._reads = self._reads, outer
        if outer is not None:
            outer |= reads
        self._mro[cls] = (order, reads)
        self._mro_sets |= reads
        return order

    # -- calls -----------------------------------------------------------------------------------

    def _callees(self, path: str, scope: str, callee: list[Any], flag: int = 0) -> list[tuple[Value, Value]]:
        """(callee value, bound receiver or None) pairs for a call's callee expression; the special
        method a statement calls (``flag`` :data:`~.pyfacts.DUNDER`) is looked up on instances only."""
        if callee[0] == "u":
            return [pair for part in callee[1] for pair in self._callees(path, scope, part, flag)]
        if callee[0] != "a":
            return [(value, None) for value in self.eval(path, scope, callee)]
        pairs = []
        for receiver in self.eval(path, scope, callee[1]):
            if flag == DUNDER and not _instance(receiver):
                continue
            pairs += self._bound(receiver, callee[2])
        return pairs

    def _bound(self, obj: Value, attr: str) -> list[tuple[Value, Value]]:
        """(value, what its first parameter gets or None) per value of ``obj.attr``: a method of the
        class body looked up on an instance gets the instance, a classmethod the class; a function
        stored in a field, a staticmethod or a method looked up on its class gets nothing."""
        bound = None
        if isinstance(obj, tuple) and obj[0] in ("i", "I", "s"):
            bound = obj if obj[0] != "s" else ("i", obj[2])
        pairs: list[tuple[Value, Value]] = []
        for value in self.attribute(obj, attr):
            info = self.scope_info.get(value) if isinstance(value, str) else None
            if (
                info is None
                or info[0] != "function"
                or self._kind(self._qualify(info[5], info[1] or "")) != "class"
            ):
                pairs.append((value, None))
            elif _CLASS_SELF & set(info[3]):
                pairs.append((value, obj[1] if bound is not None else obj))
            elif _NO_SELF & set(info[3]) or bound is None:
                pairs.append((value, None))
            else:
                pairs.append((value, bound))
        return pairs

    def _info(self, value: str) -> list[Any]:
        return self.scope_info.get(value) or ["?", None, [], [], [], "", ""]

    def _returns(self, function: str) -> set[Value]:
        """What calling a function gives: a generator for a generator function."""
        if not isinstance(function, str):
            return set()
        if function in self.generators:
            return {("g", function)}
        return self._read(self.rets[function])

    def _instantiated(self, value: Value) -> bool:
        """Whether ``raise value`` makes an instance: a class of the module or of another package; a
        builtin exception (``raise KeyError``) makes no call worth an edge."""
        if isinstance(value, str):
            return self._kind(value) == "class"
        return value[0] == "x" and value[1] != "builtins"

    def _call(
        self, path: str, scope: str, index: int, callee: Any, args: list[Any], kwargs: dict, flag: int = 0
    ) -> None:
        if callee is None:
            return
        results: set[Value] = set()
        reached: set[Value] = set()
        for value, receiver in self._callees(path, scope, callee, flag):
            bound_args = args
            if isinstance(value, tuple) and value[0] == "P":  # partial(f, a)(b) calls f(a, b)
                value, bound_args = value[1], [None] * value[2] + args
            if isinstance(value, tuple) and value[0] == "b":  # a bound method
                value, receiver = value[1], value[2]
            if flag == RAISE and not self._instantiated(value):
                continue  # ``raise error``: an instance is raised as it is
            if isinstance(value, tuple):
                if value[0] == "x":
                    if flag == DUNDER and value[-1] not in _WITH and value[-2] != "()":
                        continue  # a ``for`` calls nothing on items; only an instance made there counts
                    reached.add(value)
                    if value[1] == "builtins":
                        continue  # what a builtin returns is nothing the graph follows (``len(x)``)
                    if len(value) < _MAX_STEPS and (flag != DUNDER or value[-1] in _WITH):
                        # What ``__iter__``/``__next__`` of another module's object return stays
                        # unknown: the ``for`` over it gives the object itself (its items once linked).
                        results.add((*value, "()"))
                elif value[0] == "v":
                    reached.add(value)
                    for method in self._member(self.mro(value[1]), value[2]):
                        # Its ``self``: an instance on which this method runs (that does not override it).
                        self._invoke(method, ("I", value[1], value[2]), path, scope, args, kwargs)
                        results |= self._returns(method)
                elif value[0] in ("i", "I"):
                    for method in self._member(self.mro(value[1]), "__call__"):
                        reached.add(method)
                        self._invoke(method, value, path, scope, args, kwargs)
                        results |= self._returns(method)
                continue
            kind = self._kind(value)
            if kind == "class":
                reached.add(value)
                results.add(("i", value))
                for init in self._member(self.mro(value), "__init__"):
                    self._invoke(init, ("i", value), path, scope, bound_args, kwargs)
            elif kind in ("function", "lambda"):
                reached.add(value)
                self._invoke(value, receiver, path, scope, bound_args, kwargs)
                results |= self._returns(value)
        if flag == BIND:
            return  # ``partial(f, a)`` binds ``a`` and calls nothing
        self._add(self.callees[index], reached)
        self._add(self.sites[(path, index)], results)

    def _invoke(
        self, function: str, receiver: Value, path: str, scope: str, args: list[Any], kwargs: dict
    ) -> None:
        """Bind the parameters of a function of this module to a call's arguments."""
        info = self.scope_info.get(function)
        if info is None or info[0] not in ("function", "lambda"):
            return
        params, fpath, fscope = info[2], info[5], info[6]
        offset = 0
        if receiver is not None and params and params[0][1] == "" and not _NO_SELF & set(info[3]):
            self._add(self.vars[(fpath, fscope, params[0][0])], {receiver})
            offset = 1
        star = next((p[0] for p in params if p[1] == "*"), None)
        for position, arg in enumerate(args):
            if arg is None:
                continue
            slot = position + offset
            if slot < len(params) and params[slot][1] == "":
                self._add(self.vars[(fpath, fscope, params[slot][0])], self.eval(path, scope, arg))
            elif star is not None:  # *args: a tuple of what the extra positional arguments hold
                rest = ("c", ("*", function), "s")
                self._add(self.vars[(fpath, fscope, star)], {rest})
                self._add_item(rest, None, self.eval(path, scope, arg))
        double_star = next((p[0] for p in params if p[1] == "**"), None)
        names = {p[0] for p in params if p[1] in ("", "k")}
        for keyword, arg in kwargs.items():
            if keyword in names:
                self._add(self.vars[(fpath, fscope, keyword)], self.eval(path, scope, arg))
            elif double_star is not None:  # **kwargs: a dict of the extra keyword arguments
                rest = ("c", ("**", function), "d")
                self._add(self.vars[(fpath, fscope, double_star)], {rest})
                self._add_item(rest, "'" + keyword, self.eval(path, scope, arg))


_HOLDERS = frozenset({"c", "g", "P", "b"})
"""Kinds of values that hold others and stay inside the module."""


def _instance(value: Value) -> bool:
    """Whether a value is an instance (here or, after a call step, in another module)."""
    if not isinstance(value, tuple):
        return False
    return value[0] in ("i", "I", "s") or (value[0] == "x" and "()" in value[3:])


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


def c3_merge(head: list[str], sequences: list[list[str]]) -> list[str]:
    """C3 merge of the bases' linearizations; falls back to depth-first order when inconsistent."""
    result = list(head)
    pending = [list(s) for s in sequences if s]
    while pending:
        for seq in pending:
            candidate = seq[0]
            if not any(candidate in other[1:] for other in pending):
                break
        else:
            for seq in pending:
                result += [c for c in seq if c not in result]
            return result
        result.append(candidate)
        pending = [s[1:] if s[0] == candidate else s for s in pending]
        pending = [s for s in pending if s]
    return result
