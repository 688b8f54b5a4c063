"""Calls in the Python flow analysis (:mod:`.pyflow`): what a call site's callee holds, what the
call returns, and how its arguments bind the parameters of the functions it reaches."""

from __future__ import annotations

from typing import Any

from mnemo_dagster.graph.pyfacts import BIND, DUNDER, RAISE
from mnemo_dagster.graph.pyflow_state import CLASS_SELF, MAX_STEPS, NO_SELF, WITH_METHODS, FlowState, Value


class FlowCalls(FlowState):
    """Call sites. Callees are evaluated by :class:`~.pyflow_values.FlowValues` and looked up by
    :class:`~.pyflow_classes.FlowClasses`, which this part calls through ``self``."""

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
            elif CLASS_SELF & set(info[3]):
                pairs.append((value, obj[1] if bound is not None else obj))
            elif NO_SELF & set(info[3]) or bound is None:
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
                    if flag == DUNDER and value[-1] not in WITH_METHODS and value[-2] != "()":
                        continue  # a ``for`` calls nothing on items; only an instance made there counts
                    reached.add(value)
                    if value[1] == "builtins":
                        continue  # what a builtin returns is nothing the graph follows (``len(x)``)
                    if len(value) < MAX_STEPS and (flag != DUNDER or value[-1] in WITH_METHODS):
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
        if receiver is not None and params and params[0][1] == "" and not NO_SELF & set(info[3]):
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


def _instance(value: Value) -> bool:
    """Whether a value is an instance (here or, after a call step, in another module)."""
    if not isinstance(value, tuple):
        return False
    return value[0] in ("i", "I", "s") or (value[0] == "x" and "()" in value[3:])
