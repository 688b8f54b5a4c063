"""Expressions of the Python flow analysis (:mod:`.pyflow`): the values an expression of the facts
(:mod:`.pyfacts`) holds, a container's items, what iterating gives, and the names a scope sees."""

from __future__ import annotations

from typing import Any

from mnemo_dagster.graph.pyfacts import KEYS
from mnemo_dagster.graph.pyflow_state import BUILTIN_NAMES, EMPTY, MAX_STEPS, FlowState, Value


class FlowValues(FlowState):
    """What expressions hold. Attributes are looked up by :class:`~.pyflow_classes.FlowClasses`
    (``mro``, ``_member``) and bound by :class:`~.pyflow_calls.FlowCalls` (``_bound``), which this
    part calls through ``self``."""

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
            keys = self.eval(path, scope, expr[2]) if expr[2] is not None else EMPTY
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
            return table.get(key, EMPTY) | table.get(None, EMPTY)
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
                elif isinstance(cls, tuple) and cls[0] == "x" and len(cls) < MAX_STEPS:
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
