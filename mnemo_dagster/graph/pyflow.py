"""Solve the flow facts of one Python module: which functions and classes each of its calls reaches.

A flow-insensitive, context-insensitive assignment analysis in the spirit of PyCG: every name,
attribute and return holds a set of abstract values, and the facts of :mod:`.pyfacts` are applied
again and again until no set grows. It runs at index time, one module at a time, so what other modules
define stays symbolic and :mod:`.pylink` resolves it when the graph is built. Values are:

- a qualified name of the module (``::User.save``): a function, method, class or lambda;
- ``("i", class)``: an instance of a class of the module; ``("I", class)``: ``self`` of a method no
  call of the module reached, an instance of that class or of any subclass;
- ``("v", class, attr)``: a method looked up on such a ``self``, dispatched by :mod:`.pylink` to the
  class's method and the overrides of its subclasses across the repository;
- ``("x", spec, name, step...)``: something another module defines: an import followed by attribute
  steps and ``"()"`` (calling it), e.g. ``nx.Graph().add_edge`` -> ``("x", "networkx", None, "Graph",
  "()", "add_edge")``;
- ``("s", class, instance class)``: what ``super()`` returns inside a method of ``class`` when
  ``self`` is an instance of ``instance class`` (the lookup starts after ``class`` in its MRO).

Calling a class gives an instance and binds ``__init__`` found along the C3 MRO; a method looked up
on an instance or through ``super()`` gets the instance as its first parameter. ``self``/``cls`` hold
what calls bind to them; a method no call reaches gets an instance of / the class that defines it.
A call whose callee holds nothing (builtins, unknown receivers) stays unresolved: it is counted, never
guessed.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mnemo_dagster.models import qualified_name

Value = Any
_MAX_PASSES = 12
_EMPTY: frozenset[Any] = frozenset()
_MAX_STEPS = 8
"""Longest symbolic value (``("x", spec, name, step, ...)``); ``node = node.parent`` loops stop here."""
SUMMARY_VERSION = 2
HERE = ""
"""The path of the one module a solver sees (qualified names come out as ``::A.m``)."""
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
        self.sites: dict[tuple[str, int], set[Value]] = defaultdict(set)
        self.locals: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.stars: dict[str, list[str]] = defaultdict(list)
        self.scope_info: dict[str, list[Any]] = {}
        """Qualified scope -> [kind, parent scope, params, decorator names, bases, path, scope]."""
        self.callees: dict[int, set[Value]] = defaultdict(set)
        """Call site index -> the values its callee held (what it calls)."""
        self.changed = False
        self.passes = 0
        """Passes over the facts so far (how fast solving converges)."""
        self._mro: dict[str, list[str]] = {}
        self._where: dict[tuple[str, str, str], tuple[str, str, str] | None] = {}
        self._prepare()

    # -- setup -----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        for path, facts in self.facts.items():
            for scope, info in facts["scopes"].items():
                self.scope_info[qualified_name(path, scope) if scope else path] = [*info, path, scope]
                if info[0] in ("function", "lambda"):
                    self.locals[(path, scope)].update(p[0] for p in info[2])
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
                if info[0] != "function" or not info[2] or parent is None:
                    continue
                if scopes.get(parent, ["?"])[0] != "class" or _NO_SELF & set(info[3]):
                    continue
                slot = self.vars[(path, scope, info[2][0][0])]
                if not slot:
                    cls = qualified_name(path, parent)
                    slot.add(cls if _CLASS_SELF & set(info[3]) else ("I", cls))
                    seeded = True
        return seeded

    # -- solving ---------------------------------------------------------------------------------

    def solve(self) -> None:
        """Apply every fact until nothing changes (or a pass limit, which real code rarely reaches).

        ``self`` holds the instances that calls bind to it; only methods that no call reached (entry
        points, callbacks of frameworks) then get an instance of their own class, and solving goes on.
        """
        self._fixed_point()
        if self._seed_self():
            self._fixed_point()

    def _fixed_point(self) -> None:
        for _ in range(_MAX_PASSES):
            self.changed = False
            self.passes += 1
            self._mro.clear()
            for path, facts in self.facts.items():
                self._pass(path, facts)
            if not self.changed:
                break

    def _add(self, target: set[Value], values: set[Value]) -> None:
        if values and not values <= target:
            target |= values
            self.changed = True

    def _pass(self, path: str, facts: dict[str, Any]) -> None:
        for scope, target, expr in facts["assign"]:
            values = self.eval(path, scope, expr)
            if not values and target[0] not in ("*",):
                continue
            kind = target[0]
            if kind == "n":
                self._add(self.vars[(path, scope, target[1])], values)
            elif kind == "v":
                self._add(self.vars[(path, target[1], target[2])], values)
            elif kind == "a":
                for obj in self.eval(path, scope, target[1]):
                    self._add(self._field_store(obj, target[2]), values)
            elif kind == "*":
                for value in values:
                    if value[0] == "x" and value[2] is None and value[1] not in self.stars[path]:
                        self.stars[path].append(value[1])
                        self.changed = True
        for scope, expr in facts["returns"]:
            self._add(self.rets[self._qualify(path, scope)], self.eval(path, scope, expr))
        for index, (scope, line, callee, args, kwargs) in enumerate(facts["calls"]):
            self._call(path, scope, index, line, callee, args, kwargs)

    def _qualify(self, path: str, scope: str) -> str:
        return qualified_name(path, scope) if scope else path

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
            return self.lookup(path, scope, expr[1])
        if kind == "a":
            found: set[Value] = set()
            for obj in self.eval(path, scope, expr[1]):
                found |= self.attribute(obj, expr[2])
            return found
        if kind == "r":
            return self.sites.get((path, expr[1]), set())
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
        return set()

    def _decorated(self, path: str, scope: str, site: int, inner: list[Any]) -> set[Value]:
        """A decorated definition: what a decorator of the repository returns, else the definition."""
        callee = self.facts[path]["calls"][site][2]
        if callee is not None and any(
            isinstance(value, str) and self._kind(value) in ("function", "lambda", "class")
            for value in self.eval(path, scope, callee)
        ):
            return self.sites.get((path, site), set())
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
        selves = self.vars.get((path, method, params[0][0]), set()) if params else set()
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
            return self.vars.get(where, _EMPTY)
        return {("x", module, name) for module in self.stars.get(path, ())}

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
            return self._member(self.mro(obj), attr) or self._inherited(self.mro(obj), attr, ())
        kind = obj[0]
        if kind == "x":
            return {(*obj, attr)} if len(obj) < _MAX_STEPS else set()
        if kind == "I":
            return self._virtual(obj[1], attr)
        if kind == "s":
            order = self.mro(obj[2])
            after = order[order.index(obj[1]) + 1 :] if obj[1] in order else self.mro(obj[1])[1:]
            return self._member(after, attr) or self._inherited(after, attr, ("()",))
        for cls in self.mro(obj[1]):
            found = self.fields.get((cls, attr)) or self._member([cls], attr)
            if found:
                return found
        return self._inherited(self.mro(obj[1]), attr, ("()",))

    def _virtual(self, cls: str, attr: str) -> set[Value]:
        """An attribute of ``self`` in a method no call of this module reached: ``self`` may be an
        instance of any subclass, in any module, so a method (or a name the class does not define)
        becomes ``("v", class, attr)``, which the graph dispatches along the class hierarchy."""
        values = self.attribute(("i", cls), attr)
        methods = {v for v in values if isinstance(v, str) and self._kind(v) == "function"}
        inherited = {v for v in values if isinstance(v, tuple) and v[0] == "x"}
        if methods or inherited or not values:
            return (values - methods - inherited) | {("v", cls, attr)}
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

    def _member(self, classes: list[str], attr: str) -> set[Value]:
        """The first class along ``classes`` that defines ``attr`` in its body (or assigns ``cls.attr``)."""
        for cls in classes:
            info = self.scope_info.get(cls)
            if info is None:
                continue
            path, scope = info[5], info[6]
            if attr in self.locals.get((path, scope), ()):
                return self.vars.get((path, scope, attr), set())
            found = self.fields.get((cls, attr))
            if found:
                return found
        return set()

    def _kind(self, value: str) -> str | None:
        info = self.scope_info.get(value)
        return info[0] if info is not None else None

    def mro(self, cls: str) -> list[str]:
        """The C3 linearization of a class (depth-first when C3 fails), cached for one pass."""
        cached = self._mro.get(cls)
        if cached is not None:
            return cached
        self._mro[cls] = [cls]  # guards against inheritance cycles
        info = self.scope_info.get(cls)
        bases: list[str] = []
        if info is not None:
            for base in info[4]:
                for value in sorted(self.eval(info[5], info[1] or "", base), key=str):
                    if isinstance(value, str) and self._kind(value) == "class" and value not in bases:
                        bases.append(value)
        order = c3_merge([cls], [self.mro(b) for b in bases] + [bases])
        self._mro[cls] = order
        return order

    # -- calls -----------------------------------------------------------------------------------

    def _callees(self, path: str, scope: str, callee: list[Any]) -> list[tuple[Value, Value]]:
        """(callee value, bound receiver or None) pairs for a call's callee expression."""
        if callee[0] != "a":
            return [(value, None) for value in self.eval(path, scope, callee)]
        pairs = []
        for receiver in self.eval(path, scope, callee[1]):
            bound = None
            if isinstance(receiver, tuple) and receiver[0] in ("i", "I", "s"):
                bound = receiver if receiver[0] != "s" else ("i", receiver[2])
            for value in self.attribute(receiver, callee[2]):
                is_classmethod = isinstance(value, str) and _CLASS_SELF & set(self._info(value)[3])
                if is_classmethod:
                    pairs.append((value, receiver[1] if bound is not None else receiver))
                else:
                    pairs.append((value, bound))
        return pairs

    def _info(self, value: str) -> list[Any]:
        return self.scope_info.get(value) or ["?", None, [], [], [], "", ""]

    def _call(
        self, path: str, scope: str, index: int, line: int, callee: Any, args: list[Any], kwargs: dict
    ) -> None:
        if callee is None:
            return
        results: set[Value] = set()
        reached: set[Value] = set()
        for value, receiver in self._callees(path, scope, callee):
            if isinstance(value, tuple):
                if value[0] == "x":
                    reached.add(value)
                    if len(value) < _MAX_STEPS:
                        results.add((*value, "()"))
                elif value[0] == "v":
                    reached.add(value)
                    for method in self._member(self.mro(value[1]), value[2]):
                        self._invoke(method, ("I", value[1]), path, scope, args, kwargs)
                        results |= self.rets.get(method, set())
                elif value[0] in ("i", "I"):
                    for method in self._member(self.mro(value[1]), "__call__"):
                        reached.add(method)
                        self._invoke(method, value, path, scope, args, kwargs)
                        results |= self.rets.get(method, set())
                continue
            kind = self._kind(value)
            if kind == "class":
                reached.add(value)
                results.add(("i", value))
                for init in self._member(self.mro(value), "__init__"):
                    self._invoke(init, ("i", value), path, scope, args, kwargs)
            elif kind in ("function", "lambda"):
                reached.add(value)
                self._invoke(value, receiver, path, scope, args, kwargs)
                results |= self.rets.get(value, set())
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
        if receiver is not None and params and not _NO_SELF & set(info[3]):
            self._add(self.vars[(fpath, fscope, params[0][0])], {receiver})
            offset = 1
        star = next((p[0] for p in params if p[1] == "*"), None)
        for position, arg in enumerate(args):
            if arg is None:
                continue
            slot = position + offset
            name = params[slot][0] if slot < len(params) and params[slot][1] == "" else star
            if name is not None:
                self._add(self.vars[(fpath, fscope, name)], self.eval(path, scope, arg))
        double_star = next((p[0] for p in params if p[1] == "**"), None)
        names = {p[0] for p in params if p[1] == ""}
        for keyword, arg in kwargs.items():
            name = keyword if keyword in names else double_star
            if name is not None:
                self._add(self.vars[(fpath, fscope, name)], self.eval(path, scope, arg))


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
