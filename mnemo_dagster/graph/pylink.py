"""Link the per-module Python flow summaries of a repository into call edges.

Index time solves each module on its own (:mod:`.pyflow`) and keeps (:mod:`.pysummary`), per call
site, what its callee
held: definitions of the module (``"A.m"``), and values defined elsewhere as an import followed by
steps, ``["x", spec, name, step...]``, where a step is an attribute or ``"()"`` (a call: an instance of
a class, or what a function returns). Each module also exports its top-level names, what its
functions return, its classes' bases and the attributes its methods assign on ``self``.

This module resolves those values against the repository, memoized, so the graph pays one lookup per
distinct value: imports through :class:`~.modules.ModuleIndex` (re-exports and ``*`` imports through
the resolver's bindings), classes along their C3 MRO. Calling a class reaches the class and the
``__init__`` its MRO finds. A method called on ``self`` of a method its module never calls
(``["v", class, name, caller]``) dispatches along the class hierarchy: the class's own method and
those of its subclasses anywhere in the repository that inherit ``caller``.

Values that lead outside the repository become **external names** (:func:`external_name`):
``<external>::subprocess.run``, ``<builtin>::len``, ``<external>::requests.Session.get`` (a method of
an instance of another package's class). A chain that calls what is not known to be a class
(``requests.get(url).json``) names nothing: what a function of another package returns is unknown, and
no edge beats a false one. A class of the repository that no ``__init__`` of its own MRO initialises
reaches the ``__init__`` of its first base from another package.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

from mnemo_dagster.graph.memo import Memo
from mnemo_dagster.graph.pyflow import SUMMARY_VERSION
from mnemo_dagster.graph.pyflow_classes import c3_merge
from mnemo_dagster.graph.pynames import (
    CLASSES,
    EXTERNAL,
    SUBCLASSES,
    FileLinks,
    callable_kind,
    external_classes,
    external_name,
    external_step,
    is_external,
    marker_base,
    members_token,
    subclasses,
    summary_classes,
)
from mnemo_dagster.graph.resolution import Resolver
from mnemo_dagster.models import qualified_name

Value = Any
"""A qualified name (definition or external name), ``("i", class)`` or ``("m", path)``."""

_ITERATION = frozenset({"__iter__", "__next__", "__aiter__", "__anext__"})


def _iteration(encoded: Any) -> bool:
    """Whether an encoded value is what a ``for`` calls on another module's object."""
    return isinstance(encoded, list) and encoded[0] == "x" and encoded[-1] in _ITERATION


class PythonLinker:
    """Resolves the summaries of the Python files that have one; yields their call edges.

    Over a whole repository (``summaries`` a dict), it builds its two tables from every summary.
    The incremental refresh passes ``summaries`` that load files as they are asked for, with the
    tables (``classes``, and ``subclass_table`` from every file's :meth:`class_mros`)."""

    def __init__(
        self,
        resolver: Resolver,
        summaries: Mapping[str, dict[str, Any]],
        *,
        classes: frozenset[str] | None = None,
        subclass_table: dict[str, list[str]] | None = None,
    ) -> None:
        self.resolver = resolver
        if isinstance(summaries, dict):
            summaries = {p: s for p, s in summaries.items() if s.get("v") == SUMMARY_VERSION}
        self.summaries = summaries
        self.memo = resolver.memo
        self._mro_memo = Memo()
        # Both tables read every summary: built first, so that no lookup is in progress then (an
        # answer must not depend on where it was first asked; :mod:`.memo`).
        self.classes = classes if classes is not None else external_classes(summaries.values())
        """The dotted names of other packages' classes that classes of the repository subclass."""
        self.subclass_table = {}
        self._definers: dict[str, set[str]] | None = None
        self.mros: dict[str, tuple[dict[str, list[str]], frozenset[Hashable]]] = {}
        """Path -> the MRO of each class its summary defines, and what finding them read
        (:meth:`class_mros`)."""
        if subclass_table is None:
            self.mros = {path: self.class_mros(path) for path in sorted(summaries)}
            subclass_table = subclasses({path: found[0] for path, found in self.mros.items()})
        self.subclass_table = subclass_table

    def edges(self) -> tuple[int, int, int, list[tuple[str, str, int]]]:
        """(call sites, call sites that reach a definition of the repository, call sites that reach
        only external names, (source, target, line) per reached definition or external name)."""
        total = resolved = external = 0
        found: list[tuple[str, str, int]] = []
        for path in sorted(self.summaries):
            links = self.file_links(path)
            total += links.total
            resolved += links.resolved
            external += links.external
            found += links.edges
        return total, resolved, external, found

    def file_links(self, path: str) -> FileLinks:
        """The call edges of one file, with what resolving them read (:meth:`.memo.Memo.query`)."""
        links, reads = self.memo.query(lambda: self._file_links(path))
        return FileLinks(links[0], links[1], links[2], links[3], reads)

    def _file_links(self, path: str) -> tuple[int, int, int, list[tuple[str, str, int]]]:
        summary = self.summaries[path]
        self.memo.read(path)
        total, resolved, external = summary["sites"], 0, 0
        found: list[tuple[str, str, int]] = []
        index = self.resolver.files[path]
        for scope, line, reached, *implicit in summary["calls"]:
            targets = self.targets(path, reached, implicit=bool(implicit))
            own = any(not is_external(t) for t in targets)
            resolved += own
            external += bool(targets) and not own
            total += bool(implicit and targets)  # a call no call syntax writes counts where it resolves
            source = index.enclosing(scope)
            found += [
                (source, t, line) for t in sorted(targets) if is_external(t) or callable_kind(self.kind(t))
            ]
        return total, resolved, external, found

    def targets(self, path: str, reached: list[Any], *, implicit: bool = False) -> set[str]:
        """The definitions a call reaches (a class also reaches its ``__init__``); lambdas count.

        What a ``for`` calls on another module's object (``__iter__``, ``__next__``) counts only on an
        instance made right there by calling a class: what a function returns or a field holds arrives
        as the items of its containers, on which the ``for`` calls nothing."""
        out: set[str] = set()
        for encoded in reached:
            values = self.value(path, encoded)
            if implicit and _iteration(encoded):
                made = self.value(path, encoded[:-2]) if encoded[-2] == "()" else frozenset()
                if not any(self.kind(v) == "class" for v in made if isinstance(v, str)):
                    continue
            for value in values:
                if not isinstance(value, str):
                    continue
                out.add(value)
                if self.kind(value) == "class":
                    out.update(self.member(self.mro(value), "__init__") or self._external_init(value))
        return out

    def kind(self, name: str) -> str | None:
        """The kind of a definition (None for an external name); its file is read."""
        return None if is_external(name) else self.resolver.kind(name)

    def _external_init(self, cls: str) -> set[str]:
        """The ``__init__`` of the first base from another package along ``cls``'s MRO."""
        return {f"{base}.__init__" for base in self._external_base(cls)}

    def _external_base(self, cls: str) -> list[str]:
        """The external name of the base from another package along ``cls``'s MRO, when there is
        exactly one (the summary keeps no order of bases, so of two none is guessed); bases that only
        mark a class (``typing.Generic[T]``, ``abc.ABC``) provide nothing."""
        found: set[str] = set()
        for each in self.mro(cls):
            path, _, dotted = each.partition("::")
            summary = self.summaries.get(path)
            for encoded in summary["bases"].get(dotted, ()) if summary is not None else ():
                found |= {
                    value
                    for value in self.value(path, encoded)
                    if isinstance(value, str) and value.startswith(EXTERNAL) and not marker_base(value)
                }
        return sorted(found) if len(found) == 1 else []

    def external_classes(self) -> frozenset[str]:
        """:attr:`classes`, read (a change of the table changes the answers of what read it)."""
        self.memo.read(CLASSES)
        return self.classes

    # -- values ----------------------------------------------------------------------------------

    def value(self, path: str, encoded: Any) -> frozenset[Value]:
        """What an encoded value of ``path``'s summary stands for, in the repository."""
        if isinstance(encoded, str):
            return frozenset({qualified_name(path, encoded)})
        # A value that depends on itself resolves to nothing.
        key = ("value", path, repr(encoded))
        return self.memo.lookup(key, lambda: self._value(path, encoded), frozenset())

    def _value(self, path: str, encoded: Any) -> frozenset[Value]:
        if encoded[0] == "i":
            return frozenset({("i", qualified_name(path, encoded[1]))})
        if encoded[0] == "v":
            return frozenset(self.dispatch(qualified_name(path, encoded[1]), *encoded[2:4]))
        return frozenset(self._external(path, encoded[1], encoded[2], encoded[3:]))

    def _external(self, path: str, spec: str, name: str | None, steps: list[str]) -> set[Value]:
        modules = self.resolver.modules
        current: set[Value] = set()
        if name is not None:
            sub = modules.resolve(f"{spec}{name}" if spec.strip(".") == "" else f"{spec}.{name}", path)
            if sub is not None:
                current = {("m", sub)}
        if not current:
            target = modules.resolve(spec, path)
            if target is None:
                outside = external_name(spec, name, steps, self.external_classes())
                return {outside} if outside is not None else set()
            current = {("m", target)} if name is None else self.module_name(target, name)
        for step in steps:
            current = {v for value in current for v in self.step(value, step)}
            if not current:
                break
        return current

    def module_name(self, module: str, name: str) -> set[Value]:
        """A top-level name of a module: its summary, else the resolver (re-exports, ``*``)."""
        # ``*`` import cycles stop here.
        return self.memo.lookup(("module name", module, name), lambda: self._module_name(module, name), set())

    def _module_name(self, module: str, name: str) -> set[Value]:
        self.memo.read(module)
        summary = self.summaries.get(module)
        if summary is None:
            found = self.resolver.name_in_module(module, name) if module in self.resolver.files else None
            return {found} if found is not None else set()
        owner = self.exports(module).get(name)
        if owner is not None:
            return {v for e in self.summaries[owner]["names"][name] for v in self.value(owner, e)}
        if module.endswith("__init__.py"):
            sub = self.resolver.modules.resolve(f".{name}", module)
            if sub is not None:
                return {("m", sub)}
        return set()

    def exports(self, module: str) -> dict[str, str]:
        """Name -> the module whose summary binds it, for the names ``module`` has at top level,
        its own first, then those of the modules it imports with ``*`` (computed once per module)."""
        # ``*`` import cycles stop here.
        return self.memo.lookup(("exports", module), lambda: self._exports(module), {})

    def _exports(self, module: str) -> dict[str, str]:
        self.memo.read(module)
        table: dict[str, str] = {}
        summary = self.summaries.get(module)
        if summary is None:
            return table
        resolve = self.resolver.modules.resolve
        for spec in summary.get("stars", ()):
            target = resolve(spec, module)
            if target is not None and target != module:
                for name, owner in self.exports(target).items():
                    if not name.startswith("_"):
                        table.setdefault(name, owner)
        table.update(dict.fromkeys(summary["names"], module))
        return table

    def step(self, value: Value, step: str) -> set[Value]:
        """One step from a value: ``"()"`` calls it, anything else is an attribute."""
        if isinstance(value, str) and is_external(value):
            # Another package's name reached through the repository (``from .compat import cookielib``).
            found = external_step(value, step, self.external_classes())
            return {found} if found is not None else set()
        if isinstance(value, str):
            kind = self.kind(value)
            if step == "()":
                if kind == "class":
                    return {("i", value)}
                return self._returns(value) if kind in ("function", "method") else set()
            return self.member(self.mro(value), step) if kind == "class" else set()
        if value[0] == "m":
            return self.module_name(value[1], step) if step != "()" else set()
        if step == "()":
            return {r for m in self.member(self.mro(value[1]), "__call__") for r in self._returns(m)}
        order = self.mro(value[1])
        for cls in order:
            found = self._field(cls, step) or self.member([cls], step)
            if found:
                return found
        return set()

    def _returns(self, function: str) -> set[Value]:
        path, _, dotted = function.partition("::")
        self.memo.read(path)
        summary = self.summaries.get(path)
        encoded = summary["rets"].get(dotted, ()) if summary is not None else ()
        return {v for e in encoded for v in self.value(path, e)}

    def _field(self, cls: str, attr: str) -> set[Value]:
        path, _, dotted = cls.partition("::")
        self.memo.read(path)
        summary = self.summaries.get(path)
        encoded = summary["fields"].get(dotted, {}).get(attr, ()) if summary is not None else ()
        return {v for e in encoded for v in self.value(path, e)}

    def dispatch(self, cls: str, attr: str, caller: str | None = None) -> set[Value]:
        """What ``attr`` of an instance of ``cls`` or of any of its subclasses may be (methods); where
        no class of the repository along ``cls``'s MRO defines it, that of its first base from another
        package. With ``caller`` (the method of ``cls`` whose ``self`` it is), only the subclasses on
        which that method runs: those that inherit it, not those that override it."""
        order = self.mro(cls)
        found = self.member(order, attr)
        if not found:
            found = {f"{base}.{attr}" for base in self._external_base(cls)}
        runs = self.member(order, caller) if caller else set()
        self.memo.read(SUBCLASSES)
        subs = self._subclass_set(cls)
        if not subs:
            return found
        # A subclass whose MRO holds no definition of ``attr`` or ``caller`` but those along
        # ``order`` finds what ``cls`` finds (C3 keeps the order of ``order``): only the others,
        # below a class that defines one of them, are looked at.
        relevant = self.definers(attr) | (self.definers(caller) if caller else set())
        candidates: set[str] = set()
        for definer in relevant.difference(order):
            if definer in subs:
                candidates.add(definer)
            candidates |= subs & self._subclass_set(definer)
        for sub in sorted(candidates):
            if caller and self.member(self.mro(sub), caller) != runs:
                continue  # ``sub`` overrides the caller: the call is never made on it
            found |= self.member(self.mro(sub), attr)
        return found

    def definers(self, attr: str) -> set[str]:
        """The classes of the repository whose body defines ``attr`` (read: :func:`members_token`)."""
        self.memo.read(members_token(attr))
        if self._definers is None:
            self._definers = {}
            kinds = self.resolver.node_kind
            for qualified, kind in kinds.items():
                parent, dot, name = qualified.rpartition(".")
                if dot and kind != "module" and kinds.get(parent) == "class":
                    self._definers.setdefault(name, set()).add(parent)
        return self._definers.get(attr, set())

    def _subclass_set(self, cls: str) -> frozenset[str]:
        found = self._subclass_sets.get(cls)
        if found is None:
            self._subclass_sets[cls] = found = frozenset(self.subclass_table.get(cls, ()))
        return found

    @property
    def subclass_table(self) -> dict[str, list[str]]:
        """Class -> every class of the repository that has it in its MRO."""
        return self._subclass_table

    @subclass_table.setter
    def subclass_table(self, table: dict[str, list[str]]) -> None:
        self._subclass_table = table
        self._subclass_sets: dict[str, frozenset[str]] = {}

    def class_mros(self, path: str) -> tuple[dict[str, list[str]], frozenset[Hashable]]:
        """The MRO of each class ``path``'s summary defines, and what finding them read.

        Found with lookups of their own, which see no subclasses (a base may name what a method
        call returns): the subclass table is built from them, and no answer cached for the edges may
        have seen it half built."""
        shared, table, self.memo, self.subclass_table = self.memo, self.subclass_table, self._mro_memo, {}
        try:
            summary = self.summaries[path]
            return self.memo.query(lambda: {cls: self.mro(cls) for cls in summary_classes(path, summary)})
        finally:
            self.memo, self.subclass_table = shared, table

    def member(self, classes: list[str], attr: str) -> set[Value]:
        """``attr`` defined in the body of the first class along ``classes`` that has it."""
        kinds = self.resolver.node_kind
        for cls in classes:
            if kinds.get(f"{cls}.{attr}") not in (None, "module"):
                return {f"{cls}.{attr}"}
        return set()

    def mro(self, cls: str) -> list[str]:
        """The C3 linearization of a class of the repository, from the bases in its summary."""
        # Inheritance cycles stop here.
        return self.memo.lookup(("mro", cls), lambda: self._mro(cls), [cls])

    def _mro(self, cls: str) -> list[str]:
        """:meth:`mro`, computed (the kinds of a class's members belong to its file, read here)."""
        path, _, dotted = cls.partition("::")
        self.memo.read(path)
        summary = self.summaries.get(path)
        bases: list[str] = []
        for encoded in summary["bases"].get(dotted, ()) if summary is not None else ():
            for value in sorted(self.value(path, encoded), key=str):
                if isinstance(value, str) and self.kind(value) == "class" and value not in bases:
                    bases.append(value)
        return c3_merge([cls], [self.mro(b) for b in bases] + [bases])
