"""Resolve import records to modules and call/base-class names to definitions.

A ``calls`` reference resolves from its enclosing symbol (or module, for module-level code) to a
definition, trying in this order:

1. the enclosing scopes of the same file (``self.validate()`` in ``A.save`` -> ``A.validate``);
2. a name imported into the file (following re-exports), then a top-level definition
   of a module imported as a namespace or with ``*`` (unique among those);
3. a definition of that name elsewhere in the same file (unique);
4. a definition of that name anywhere in the repository, in the same language family (JavaScript
   and TypeScript apart), when there
   are at most ``max_global_candidates`` of them (see :func:`~mnemo_dagster.graph.build_graph`;
   default: exactly one).

Anything else is dropped and counted as unresolved in
:class:`~mnemo_dagster.graph.records.ResolutionStats`. An ``inherits`` reference resolves the
same way, but only onto class-like definitions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from mnemo_dagster.graph.memo import Memo
from mnemo_dagster.graph.modules import ModuleIndex, language_family
from mnemo_dagster.graph.records import CLASS_LIKE_KINDS, FileSymbols
from mnemo_dagster.models import QUALIFIED_NAME_SEPARATOR, Reference, Symbol, qualified_name

_NAME_FAMILIES = {
    "javascript": "javascript",
    "jsx": "javascript",
    "typescript": "typescript",
    "tsx": "typescript",
}
"""Step 4 matches names within these narrower families: JavaScript and TypeScript import each other
(modules resolve across them), but a bare name in a ``.js`` file is no evidence for a ``.ts`` definition
(issue 8: ``response.js`` calling ``QueryCache.get``)."""

_Accept = Callable[[str | None], bool]
"""Whether a candidate target (a qualified name, or None when a lookup found nothing) is acceptable."""


@dataclass(slots=True)
class FileIndex:
    """What resolution needs to know about one file."""

    path: str
    language: str
    family: str
    symbols: dict[str, Symbol]
    """Dotted symbol path -> first definition with that path."""
    by_name: dict[str, list[str]]
    """Bare name -> dotted paths in this file, sorted."""
    bindings: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Local name -> ("module", path) or ("name", "<module path>\\0<imported name>")."""
    namespaces: list[str] = field(default_factory=list)
    """Modules imported as a whole (``import x``, ``import * as ns``, ``from x import *``), sorted."""

    def enclosing(self, source: str) -> str:
        """Qualified name of the innermost defined scope for a reference's ``source``."""
        scope = source
        while scope:
            if scope in self.symbols:
                return qualified_name(self.path, scope)
            scope = scope.rpartition(".")[0]
        return self.path

    def class_at(self, line: int) -> str | None:
        """The innermost class-like definition spanning ``line``: the subclass of a base-class reference
        whose ``source`` names the scope around the class rather than the class itself."""
        best: Symbol | None = None
        for symbol in self.symbols.values():
            spans = symbol.kind in CLASS_LIKE_KINDS and symbol.start_line <= line <= symbol.end_line
            if spans and (best is None or symbol.start_line > best.start_line):
                best = symbol
        return qualified_name(self.path, best.path) if best else None


def file_index(record: FileSymbols) -> FileIndex:
    """What resolution knows of one file, before its imports are bound (:meth:`Resolver.bind`)."""
    symbols: dict[str, Symbol] = {}
    for symbol in sorted(record.symbols, key=lambda s: (s.start_line, s.end_line, s.path)):
        symbols.setdefault(symbol.path, symbol)
    by_name: dict[str, list[str]] = defaultdict(list)
    for dotted in sorted(symbols):
        by_name[symbols[dotted].name].append(dotted)
    return FileIndex(record.path, record.language, language_family(record.language), symbols, dict(by_name))


def name_family(language: str) -> str:
    """The family within which step 4 matches bare names (:data:`_NAME_FAMILIES`)."""
    return _NAME_FAMILIES.get(language, language_family(language))


def global_token(family: str, name: str, *, class_like: bool) -> str:
    """What a lookup of step 4 reads (:mod:`.memo`): the definitions of ``name`` in ``family``."""
    return f"<{'classes' if class_like else 'names'}>:{family}:{name}"


class Resolver:
    """Indexes every file once and resolves module specifiers and names against the repository."""

    def __init__(self, files: Mapping[str, FileSymbols]) -> None:
        self.files: dict[str, FileIndex] = {}
        self.records = files
        self.modules = ModuleIndex()
        self.global_by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
        """(language family, bare name) -> qualified names of all definitions."""
        self.global_classes: dict[tuple[str, str], list[str]] = defaultdict(list)
        """The same for class-like definitions only (base-class candidates)."""
        self.node_kind: dict[str, str] = {}
        for path in sorted(files):
            self._index_file(files[path])
        self.modules.find_own_package(
            ref.module or ref.name
            for path in sorted(files)
            if self.files[path].family == "python"
            for ref in files[path].references
            if ref.kind == "imports"
        )
        self.memo = Memo()
        """Re-exports followed (:meth:`name_in_module`), and the linker's lookups."""

    @classmethod
    def partial(
        cls,
        records: Mapping[str, FileSymbols],
        languages: Mapping[str, str],
        definitions: Iterable[tuple[str, str, str, str]],
        own_package: str | None,
    ) -> Resolver:
        """A resolver that reads files only as it needs them (``records`` loads them): ``languages``
        maps every path of the repository to its language, ``definitions`` gives every definition
        as (qualified name, name, kind, language), and ``own_package`` is what
        :meth:`~.modules.ModuleIndex.find_own_package` found over all files. It resolves what a full
        one resolves, file by file (the incremental refresh; :mod:`.incremental`)."""
        self = cls.__new__(cls)
        self.records = records
        self.files = _LazyFiles(self, languages)
        self.modules = ModuleIndex()
        self.global_by_name, self.global_classes = defaultdict(list), defaultdict(list)
        self.node_kind = {}
        for path in sorted(languages):
            self.node_kind[path] = "module"
            self.modules.add(path, language_family(languages[path]))
        self.modules.own_package = own_package
        families: dict[str, str] = {}
        for qualified, name, kind, language in sorted(definitions, key=_place):
            family = families.get(language) or families.setdefault(language, name_family(language))
            self.node_kind[qualified] = kind
            self.global_by_name[(family, name)].append(qualified)
            if kind in CLASS_LIKE_KINDS:
                self.global_classes[(family, name)].append(qualified)
        self.memo = Memo()
        return self

    def _index_file(self, record: FileSymbols) -> None:
        path = record.path
        index = file_index(record)
        names = name_family(record.language)
        for dotted, symbol in sorted(index.symbols.items()):
            qualified = qualified_name(path, dotted)
            self.node_kind[qualified] = symbol.kind
            self.global_by_name[(names, symbol.name)].append(qualified)
            if symbol.kind in CLASS_LIKE_KINDS:
                self.global_classes[(names, symbol.name)].append(qualified)
        self.files[path] = index
        self.node_kind[path] = "module"
        self.modules.add(path, index.family)

    def kind(self, qualified: str) -> str | None:
        """The kind of a node of the repository (None for no such node); its file is read."""
        self.memo.read(qualified.partition(QUALIFIED_NAME_SEPARATOR)[0])
        return self.node_kind.get(qualified)

    def bind(self, index: FileIndex) -> list[tuple[Reference, str | None, str]]:
        """Bind the names a file imports (:meth:`import_binding`, in line order); returns (import,
        target module or None, specifier used) per import record."""
        record = self.records[index.path]
        imports = sorted(
            (r for r in record.references if r.kind == "imports"),
            key=lambda r: (r.line, r.module or "", r.name, r.alias or ""),
        )
        bound = [(ref, *self.import_binding(ref, index)) for ref in imports]
        index.namespaces = sorted(set(index.namespaces))
        return bound

    # -- imports ---------------------------------------------------------------------------------

    def import_binding(self, ref: Reference, importer: FileIndex) -> tuple[str | None, str]:
        """Resolve one import record: (target module or None, specifier used), and bind its names."""
        spec = ref.module or ref.name
        name = ref.name
        is_whole = name in ("*", "", spec) or (importer.family == "python" and ref.module is None)
        if not is_whole and importer.family == "python":
            sub = f"{spec}{name}" if spec.strip(".") == "" else f"{spec}.{name}"
            target = self.modules.resolve(sub, importer.path)
            if target is not None:
                importer.bindings.setdefault(ref.alias or name, ("module", target))
                importer.namespaces.append(target)
                return target, sub
        target = self.modules.resolve(spec, importer.path)
        if target is None:
            return None, spec
        if is_whole:
            if ref.alias:
                importer.bindings.setdefault(ref.alias, ("module", target))
            importer.namespaces.append(target)
        elif name == "default":
            importer.bindings.setdefault(ref.alias or name, ("name", f"{target}\0{ref.alias or name}"))
        else:
            importer.bindings.setdefault(ref.alias or name, ("name", f"{target}\0{name}"))
        return target, spec

    def name_in_module(self, module: str, name: str) -> str | None:
        """Qualified name of the top-level definition ``name`` in ``module``, following re-exports
        (a cycle of them finds nothing; :class:`~.memo.Memo`)."""
        return self.memo.lookup(("name", module, name), lambda: self._name_in_module(module, name), None)

    def _name_in_module(self, module: str, name: str) -> str | None:
        self.memo.read(module)
        index = self.files[module]
        if name in index.symbols:
            return qualified_name(module, name)
        binding = index.bindings.get(name)
        if binding is not None and binding[0] == "name":
            target, _, inner = binding[1].partition("\0")
            return self.name_in_module(target, inner)
        for namespace in index.namespaces:
            found = self.name_in_module(namespace, name)
            if found:
                return found
        return None

    # -- names -----------------------------------------------------------------------------------

    def resolve_name(
        self, ref: Reference, file: FileIndex, source: str, *, class_like: bool, max_global: int
    ) -> tuple[list[str], bool]:
        """Targets for a call/base-class name (qualified names) and whether it was ambiguous."""
        accept = self._acceptor(source, class_like)
        found = (
            _in_scopes(ref, file, accept)
            or self._imported(ref.name, file, accept)
            or _elsewhere_in_file(ref.name, file, accept)
        )
        if found:
            return found, False
        names = _NAME_FAMILIES.get(file.language, file.family)
        return self._anywhere(ref.name, names, accept, class_like=class_like, max_global=max_global)

    def _acceptor(self, source: str, class_like: bool) -> _Accept:
        """Whether a candidate target is acceptable for a reference made from ``source``."""
        # A function calling its own name is recursion; a method or class doing so is nearly always
        # delegation (``super().save()``, ``self.repo.save()``), so look further for those.
        allow_self = not class_like and self.node_kind.get(source) == "function"

        def accept(qualified: str | None) -> bool:
            if qualified is None or (qualified == source and not allow_self):
                return False
            return not class_like or self.kind(qualified) in CLASS_LIKE_KINDS

        return accept

    def _imported(self, name: str, file: FileIndex, accept: _Accept) -> list[str]:
        """Step 2: a name imported into the file, then a definition in a module imported whole."""
        binding = file.bindings.get(name)
        if binding is not None and binding[0] == "name":
            target, _, inner = binding[1].partition("\0")
            found = self.name_in_module(target, inner)
            if found is not None and accept(found):
                return [found]
        if file.namespaces:
            hits = {self.name_in_module(m, name) for m in file.namespaces}
            accepted = sorted(q for q in hits if q is not None and accept(q))
            if len(accepted) == 1:
                return accepted
        return []

    def _anywhere(
        self,
        name: str,
        family: str,
        accept: _Accept,
        *,
        class_like: bool,
        max_global: int,
    ) -> tuple[list[str], bool]:
        """Step 4: definitions anywhere in the repository (same family), when there are few enough."""
        index = self.global_classes if class_like else self.global_by_name
        self.memo.read(global_token(family, name, class_like=class_like))
        everywhere = index.get((family, name), ())
        if len(everywhere) > max_global + 1:  # too many even if one of them is the source itself
            return [], True
        candidates = [q for q in everywhere if accept(q)]
        if 0 < len(candidates) <= max_global:
            return candidates, False
        return [], len(candidates) > max_global


def _place(definition: tuple[str, str, str, str]) -> tuple[str, str]:
    """(path, dotted path) of a definition: the order a full resolver indexes definitions in."""
    path, _, dotted = definition[0].partition(QUALIFIED_NAME_SEPARATOR)
    return path, dotted


class _LazyFiles(dict[str, FileIndex]):
    """Path -> :class:`FileIndex`, made (and its imports bound) when first asked for."""

    def __init__(self, resolver: Resolver, languages: Mapping[str, str]) -> None:
        super().__init__()
        self.resolver = resolver
        self.languages = languages

    def __contains__(self, path: object) -> bool:
        return path in self.languages

    def __missing__(self, path: str) -> FileIndex:
        self[path] = index = file_index(self.resolver.records[path])
        self.resolver.bind(index)
        return index


def _in_scopes(ref: Reference, file: FileIndex, accept: _Accept) -> list[str]:
    """Step 1: the enclosing scopes of the reference, innermost first: A.b.name, A.name, name."""
    name = ref.name
    scope = ref.source
    while True:
        dotted = f"{scope}.{name}" if scope else name
        if dotted in file.symbols and accept(qualified_name(file.path, dotted)):
            return [qualified_name(file.path, dotted)]
        if not scope:
            return []
        scope = scope.rpartition(".")[0]


def _elsewhere_in_file(name: str, file: FileIndex, accept: _Accept) -> list[str]:
    """Step 3: a definition of that name elsewhere in the same file, when unique."""
    local = [qualified_name(file.path, d) for d in file.by_name.get(name, ())]
    local = [q for q in local if accept(q)]
    return local if len(local) == 1 else []
