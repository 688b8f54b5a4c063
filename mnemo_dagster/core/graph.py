"""Build the repository's symbol graph from per-file definitions and references, and measure it.

Pure logic: nothing here imports dagster or talks to the database.

**Nodes** are modules (one per file, qualified name = the file's path relative to the repository root)
and the definitions found in them (``<path>::<dotted symbol path>``, e.g.
``src/app/user.ts::UserService.validate``). **Edges** have one of four kinds:

- ``contains``: module -> top-level symbols, class -> methods, function -> nested functions (by the
  dotted path; a symbol whose parent path is not defined hangs off its nearest defined ancestor).
- ``imports``: module -> module. Python absolute (``a.b.c`` -> ``a/b/c.py`` or ``a/b/c/__init__.py``,
  also under source roots such as ``src/`` and by suffix against known module paths), Python relative
  (``.models``, ``..pkg.x``), ``from pkg import name`` where ``name`` is a submodule, JS/TS relative
  (``./user`` -> ``./user.ts``, ``./user/index.ts``...) and root/``src``/``@/`` specifiers; other
  languages by path or by dotted/``::`` suffix.
- ``calls``: enclosing symbol (or module for module-level code) -> definition, resolved in this order:
  (1) the enclosing scopes of the same file (``self.validate()`` in ``A.save`` -> ``A.validate``),
  (2) a name imported into the file (following re-exports a few levels), then a top-level definition
  of a module imported as a namespace or with ``*`` (unique among those), (3) a definition of that
  name elsewhere in the same file (unique), (4) a definition of that name anywhere in the repository,
  in the same language family, when there are at most ``max_global_candidates`` (default: exactly one).
  Anything else is dropped and counted as unresolved in :class:`ResolutionStats`.
- ``inherits``: class -> base class, resolved like calls but only onto class-like definitions.

Repeated references collapse into one edge whose ``weight`` counts them and whose ``line`` is the
first occurrence.

**External imports** (stdlib, third-party) do not become nodes: they would need a ``file_path`` that
does not exist, would dominate PageRank and inflate efferent coupling with dependencies the
repository does not own. Instead :attr:`CodeGraph.external_imports` lists, per module, the module
specifiers that did not resolve, which is enough to report a module's third-party dependencies.

Output is deterministic (nodes and edges sorted) and the work is linear in the number of records:
definitions are indexed by name and by path once.
"""

from __future__ import annotations

import posixpath
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mnemo_dagster.core.models import Reference, Symbol

if TYPE_CHECKING:
    import networkx as nx

NodeKind = Literal["module", "class", "function", "method", "interface", "type", "enum"]
EdgeKind = Literal["contains", "imports", "calls", "inherits"]

DEPENDENCY_KINDS: frozenset[str] = frozenset({"imports", "calls", "inherits"})
"""Edge kinds that count as a dependency (everything but ``contains``)."""

_CLASS_LIKE = frozenset({"class", "interface", "type", "enum"})
_PY_EXTENSIONS = (".py", ".pyi")
_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_SOURCE_ROOTS = ("src", "lib", "python", "source")
_JS_ROOTS = ("", "src/")
_MAX_REEXPORT_DEPTH = 5
_FAMILIES = {
    "python": "python",
    "javascript": "js",
    "typescript": "js",
    "tsx": "js",
    "jsx": "js",
    "c": "c",
    "cpp": "c",
}


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class FileSymbols:
    """The definitions and references of one file: the input of :func:`build_graph`."""

    path: str
    """Path relative to the repository root, POSIX separators."""
    language: str
    symbols: tuple[Symbol, ...]
    references: tuple[Reference, ...]


@dataclass(frozen=True, slots=True, order=True)
class GraphNode:
    """A module (file) or a definition inside one."""

    qualified_name: str
    """``<path>::<dotted symbol path>``, or the bare path for a module."""
    name: str
    """Bare name of the symbol; for a module, the file name (``user.ts``)."""
    kind: NodeKind
    file_path: str
    """Path relative to the repository root, POSIX separators."""
    start_line: int
    """1-based; 1 for a module."""
    end_line: int
    """1-based, inclusive; for a module the last line any of its records mentions (at least 1)."""
    language: str


@dataclass(frozen=True, slots=True, order=True)
class GraphEdge:
    """A directed relation between two nodes, identified by their qualified names.

    Ordered by (source, target, kind), which is unique within a graph."""

    source: str
    target: str
    kind: EdgeKind
    weight: int = 1
    """How many references collapsed into this edge (1 for ``contains``)."""
    line: int | None = None
    """1-based line of the first reference, in the source's file; None for ``contains``."""


@dataclass(frozen=True, slots=True)
class ResolutionStats:
    """How many references of each kind were seen and how many became edges."""

    files: int
    calls_total: int
    calls_resolved: int
    imports_total: int
    imports_resolved: int
    """Import records that resolved to a module of the repository."""
    inherits_total: int
    inherits_resolved: int
    calls_ambiguous: int
    """Unresolved calls whose name had too many definitions in the repository to pick one."""

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for JSON metadata)."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class CodeGraph:
    """The graph of one repository: sorted nodes and edges plus how well references resolved."""

    nodes: list[GraphNode]
    """Sorted by qualified name."""
    edges: list[GraphEdge]
    """Sorted by (source, target, kind)."""
    stats: ResolutionStats
    external_imports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Module path -> sorted module specifiers it imports that are not in the repository."""

    def node(self, qualified_name: str) -> GraphNode | None:
        """The node with that qualified name, or None (binary search on the sorted nodes)."""
        nodes = self.nodes
        lo, hi = 0, len(nodes)
        while lo < hi:
            mid = (lo + hi) // 2
            if nodes[mid].qualified_name < qualified_name:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(nodes) and nodes[lo].qualified_name == qualified_name:
            return nodes[lo]
        return None

    def to_networkx(self) -> nx.MultiDiGraph:
        """A ``MultiDiGraph`` keyed by qualified name; edge keys are the edge kinds.

        Node attributes: ``name``, ``kind``, ``file_path``, ``start_line``, ``end_line``,
        ``language``; edge attributes: ``kind``, ``weight``, ``line``.
        """
        import networkx as nx

        graph = nx.MultiDiGraph()
        graph.add_nodes_from(
            (
                n.qualified_name,
                {
                    "name": n.name,
                    "kind": n.kind,
                    "file_path": n.file_path,
                    "start_line": n.start_line,
                    "end_line": n.end_line,
                    "language": n.language,
                },
            )
            for n in self.nodes
        )
        graph.add_edges_from(
            (e.source, e.target, e.kind, {"kind": e.kind, "weight": e.weight, "line": e.line})
            for e in self.edges
        )
        return graph


# --------------------------------------------------------------------------------------------------
# Building


def _family(language: str) -> str:
    return _FAMILIES.get(language, language)


def _strip_extension(path: str, extensions: Sequence[str]) -> str | None:
    for ext in sorted(extensions, key=len, reverse=True):
        if path.endswith(ext):
            return path[: -len(ext)]
    return None


def _common_prefix_len(a: str, b: str) -> int:
    """Number of leading directory components two paths share."""
    count = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        count += 1
    return count


@dataclass(slots=True)
class _FileIndex:
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


class _Resolver:
    """Indexes every file once and resolves module specifiers and names against the repository."""

    def __init__(self, files: dict[str, FileSymbols]) -> None:
        self.files: dict[str, _FileIndex] = {}
        self.global_by_name: dict[tuple[str, str], list[str]] = defaultdict(list)
        """(language family, bare name) -> qualified names of all definitions."""
        self.global_classes: dict[tuple[str, str], list[str]] = defaultdict(list)
        """The same for class-like definitions only (base-class candidates)."""
        self.node_kind: dict[str, str] = {}
        self.py_modules: dict[str, str] = {}
        """Python dotted module name (from the repository root) -> file path."""
        self.suffixes: dict[str, list[str]] = defaultdict(list)
        """``a/b/c`` (extensionless, ``__init__``/``index`` dropped) and every suffix -> paths."""
        for path in sorted(files):
            record = files[path]
            symbols: dict[str, Symbol] = {}
            for symbol in sorted(record.symbols, key=lambda s: (s.start_line, s.end_line, s.path)):
                symbols.setdefault(symbol.path, symbol)
            by_name: dict[str, list[str]] = defaultdict(list)
            family = _family(record.language)
            for dotted in sorted(symbols):
                symbol = symbols[dotted]
                by_name[symbol.name].append(dotted)
                qualified = f"{path}::{dotted}"
                self.node_kind[qualified] = symbol.kind
                self.global_by_name[(family, symbol.name)].append(qualified)
                if symbol.kind in _CLASS_LIKE:
                    self.global_classes[(family, symbol.name)].append(qualified)
            self.files[path] = _FileIndex(path, record.language, family, symbols, dict(by_name))
            self.node_kind[path] = "module"
            self._index_module_path(path, family)
        self._binding_cache: dict[str, str | None] = {}

    def _index_module_path(self, path: str, family: str) -> None:
        if family == "python":
            stem = _strip_extension(path, _PY_EXTENSIONS)
            if stem is None:
                return
            parts = stem.split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                self.py_modules.setdefault(".".join(parts), path)
        elif family == "js":
            stem = _strip_extension(path, _JS_EXTENSIONS)
            parts = (stem or path).split("/")
            if parts[-1] == "index" and len(parts) > 1:
                parts = parts[:-1]
        else:
            # Other languages: index full paths too, so ``#include "x/foo.h"`` can match by suffix.
            full = path.split("/")
            for i in range(len(full)):
                self.suffixes["/".join(full[i:])].append(path)
            head, dot, ext = path.rpartition(".")
            if not dot or "/" in ext:
                return
            parts = head.split("/")
        for i in range(len(parts)):
            self.suffixes["/".join(parts[i:])].append(path)

    # -- modules ---------------------------------------------------------------------------------

    def _best(self, candidates: Iterable[str], importer: _FileIndex) -> str | None:
        same_family = [c for c in candidates if self.files[c].family == importer.family]
        if not same_family:
            return None
        return min(same_family, key=lambda c: (-_common_prefix_len(c, importer.path), len(c), c))

    def _python_file(self, stem: str) -> str | None:
        for candidate in (f"{stem}.py", f"{stem}/__init__.py", f"{stem}.pyi", f"{stem}/__init__.pyi"):
            if candidate in self.files:
                return candidate
        return None

    def _resolve_python(self, spec: str, importer: _FileIndex) -> str | None:
        if spec.startswith("."):
            level = len(spec) - len(spec.lstrip("."))
            base = posixpath.dirname(importer.path)
            for _ in range(level - 1):
                if not base:
                    return None
                base = posixpath.dirname(base)
            rest = spec[level:].replace(".", "/")
            stem = posixpath.join(base, rest) if rest else base
            return self._python_file(stem) if stem else None
        if spec in self.py_modules:
            return self.py_modules[spec]
        stem = spec.replace(".", "/")
        for root in _SOURCE_ROOTS:
            found = self._python_file(f"{root}/{stem}")
            if found:
                return found
        # Scripts import their siblings by bare name (the script's directory is on sys.path).
        found = self._python_file(posixpath.join(posixpath.dirname(importer.path), stem))
        if found:
            return found
        if "." not in spec:
            # A bare single name matched by suffix would mostly catch stdlib/third-party names.
            return None
        return self._best(self.suffixes.get(stem, ()), importer)

    def _resolve_js(self, spec: str, importer: _FileIndex) -> str | None:
        if spec.startswith("."):
            stems = [posixpath.normpath(posixpath.join(posixpath.dirname(importer.path), spec))]
        elif spec.startswith(("@/", "~/")):
            stems = [f"src/{spec[2:]}", spec[2:]]
        elif spec.startswith("/"):
            stems = [spec.lstrip("/")]
        else:
            stems = [f"{root}{spec}" for root in _JS_ROOTS]
        for stem in stems:
            if stem.startswith("../") or stem == "..":
                continue
            found = self._js_file(stem)
            if found is None:
                # TypeScript ESM writes ``./user.js`` for ``user.ts``.
                bare = _strip_extension(stem, (".js", ".jsx", ".mjs", ".cjs"))
                found = self._js_file(bare) if bare else None
            if found:
                return found
        return None

    def _js_file(self, stem: str) -> str | None:
        if stem in self.files:
            return stem
        for ext in _JS_EXTENSIONS:
            if f"{stem}{ext}" in self.files:
                return f"{stem}{ext}"
        for ext in _JS_EXTENSIONS:
            if f"{stem}/index{ext}" in self.files:
                return f"{stem}/index{ext}"
        return None

    def _resolve_generic(self, spec: str, importer: _FileIndex) -> str | None:
        spec = spec.strip("\"'<> ")
        if not spec:
            return None
        if "/" in spec or importer.family == "c":
            here = posixpath.normpath(posixpath.join(posixpath.dirname(importer.path), spec))
            for stem in (here, spec):
                if stem in self.files:
                    return stem
            return self._best(self.suffixes.get(spec.lstrip("./"), ()), importer)
        parts = [p for p in spec.replace("::", ".").split(".") if p]
        while parts and parts[0] in ("crate", "self", "super"):
            parts = parts[1:]
        # ``use crate::a::Item`` / ``import com.x.Item`` may name an item inside a module: try shorter,
        # but never down to one bare name, which would mostly match by accident.
        for end in range(len(parts), 1 if len(parts) > 1 else 0, -1):
            found = self._best(self.suffixes.get("/".join(parts[:end]), ()), importer)
            if found:
                return found
        return None

    def resolve_module(self, spec: str, importer: _FileIndex) -> str | None:
        """The repository file a module specifier names, or None when it is external."""
        if not spec:
            return None
        if importer.family == "python":
            found = self._resolve_python(spec, importer)
        elif importer.family == "js":
            found = self._resolve_js(spec, importer)
        else:
            found = self._resolve_generic(spec, importer)
        return found if found != importer.path else None

    # -- names -----------------------------------------------------------------------------------

    def import_binding(self, ref: Reference, importer: _FileIndex) -> tuple[str | None, str]:
        """Resolve one import record: (target module or None, specifier used), and bind its names."""
        spec = ref.module or ref.name
        name = ref.name
        is_whole = name in ("*", "", spec) or (importer.family == "python" and ref.module is None)
        if not is_whole and importer.family == "python":
            sub = f"{spec}{name}" if spec.strip(".") == "" else f"{spec}.{name}"
            target = self.resolve_module(sub, importer)
            if target is not None:
                importer.bindings.setdefault(ref.alias or name, ("module", target))
                importer.namespaces.append(target)
                return target, sub
        target = self.resolve_module(spec, importer)
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

    def name_in_module(self, module: str, name: str, depth: int = 0) -> str | None:
        """Qualified name of the top-level definition ``name`` in ``module``, following re-exports."""
        key = f"{module}\0{name}"
        if key in self._binding_cache:
            return self._binding_cache[key]
        self._binding_cache[key] = None  # guards against re-export cycles
        index = self.files[module]
        found: str | None = None
        if name in index.symbols:
            found = f"{module}::{name}"
        elif depth < _MAX_REEXPORT_DEPTH:
            binding = index.bindings.get(name)
            if binding is not None and binding[0] == "name":
                target, _, inner = binding[1].partition("\0")
                found = self.name_in_module(target, inner, depth + 1)
            else:
                for namespace in index.namespaces:
                    found = self.name_in_module(namespace, name, depth + 1)
                    if found:
                        break
        self._binding_cache[key] = found
        return found

    def resolve_name(
        self, ref: Reference, file: _FileIndex, source: str, *, class_like: bool, max_global: int
    ) -> tuple[list[str], bool]:
        """Targets for a call/base-class name (qualified names) and whether it was ambiguous."""

        # A function calling its own name is recursion; a method or class doing so is nearly always
        # delegation (``super().save()``, ``self.repo.save()``), so look further for those.
        allow_self = not class_like and self.node_kind.get(source) == "function"

        def accept(qualified: str | None) -> bool:
            if qualified is None or (qualified == source and not allow_self):
                return False
            return not class_like or self.node_kind.get(qualified) in _CLASS_LIKE

        name = ref.name
        # (1) enclosing scopes, innermost first: A.b.name, A.name, name.
        scope = ref.source
        while True:
            dotted = f"{scope}.{name}" if scope else name
            if dotted in file.symbols and accept(f"{file.path}::{dotted}"):
                return [f"{file.path}::{dotted}"], False
            if not scope:
                break
            scope = scope.rpartition(".")[0]
        # (2) imported names, then top-level definitions of modules imported as a whole.
        binding = file.bindings.get(name)
        if binding is not None and binding[0] == "name":
            target, _, inner = binding[1].partition("\0")
            found = self.name_in_module(target, inner)
            if found is not None and accept(found):
                return [found], False
        if file.namespaces:
            hits = {self.name_in_module(m, name) for m in file.namespaces}
            accepted = sorted(q for q in hits if q is not None and accept(q))
            if len(accepted) == 1:
                return accepted, False
        # (3) elsewhere in the same file, when unique.
        local = [f"{file.path}::{d}" for d in file.by_name.get(name, ())]
        local = [q for q in local if accept(q)]
        if len(local) == 1:
            return local, False
        # (4) anywhere in the repository (same language family), when there are few enough.
        index = self.global_classes if class_like else self.global_by_name
        everywhere = index.get((file.family, name), ())
        if len(everywhere) > max_global + 1:  # too many even if one of them is the source itself
            return [], True
        candidates = [q for q in everywhere if accept(q)]
        if 0 < len(candidates) <= max_global:
            return candidates, False
        return [], len(candidates) > max_global


def _enclosing(file: _FileIndex, source: str) -> str:
    """Qualified name of the innermost defined scope for a reference's ``source``."""
    scope = source
    while scope:
        if scope in file.symbols:
            return f"{file.path}::{scope}"
        scope = scope.rpartition(".")[0]
    return file.path


def _class_at(file: _FileIndex, line: int) -> str | None:
    """The innermost class-like definition spanning ``line``: the subclass of a base-class reference
    whose ``source`` names the scope around the class rather than the class itself."""
    best: Symbol | None = None
    for symbol in file.symbols.values():
        spans = symbol.kind in _CLASS_LIKE and symbol.start_line <= line <= symbol.end_line
        if spans and (best is None or symbol.start_line > best.start_line):
            best = symbol
    return f"{file.path}::{best.path}" if best else None


def build_graph(files: Iterable[FileSymbols], *, max_global_candidates: int = 1) -> CodeGraph:
    """Build the symbol graph of a repository from the records of all its files.

    ``max_global_candidates`` bounds the last resolution step for calls and base classes: a name
    with more same-language definitions across the repository than this is left unresolved rather
    than fanned out to all of them. A path given twice keeps its last record.
    """
    by_path = {f.path: f for f in files}
    resolver = _Resolver(by_path)
    nodes: list[GraphNode] = []
    contains: list[GraphEdge] = []
    weights: dict[tuple[str, str, str], list[int]] = {}  # (source, target, kind) -> [weight, line]
    external: dict[str, set[str]] = defaultdict(set)
    totals = dict.fromkeys(("calls", "imports", "inherits"), 0)
    resolved = dict.fromkeys(("calls", "imports", "inherits"), 0)
    ambiguous = 0

    def add(source: str, target: str, kind: str, line: int) -> None:
        entry = weights.get((source, target, kind))
        if entry is None:
            weights[(source, target, kind)] = [1, line]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], line)

    # Pass 1: nodes, containment and imports (which also bind imported names).
    for path in sorted(by_path):
        record, index = by_path[path], resolver.files[path]
        last_line = max(
            [s.end_line for s in index.symbols.values()] + [r.line for r in record.references] + [1]
        )
        nodes.append(GraphNode(path, posixpath.basename(path), "module", path, 1, last_line, record.language))
        for dotted, symbol in index.symbols.items():
            qualified = f"{path}::{dotted}"
            nodes.append(
                GraphNode(
                    qualified,
                    symbol.name,
                    symbol.kind,
                    path,
                    symbol.start_line,
                    symbol.end_line,
                    record.language,
                )
            )
            parent = dotted.rpartition(".")[0]
            contains.append(GraphEdge(_enclosing(index, parent), qualified, "contains"))
        for ref in sorted(record.references, key=lambda r: (r.line, r.module or "", r.name, r.alias or "")):
            if ref.kind != "imports":
                continue
            totals["imports"] += 1
            target, spec = resolver.import_binding(ref, index)
            if target is None:
                external[path].add(spec)
                continue
            resolved["imports"] += 1
            add(path, target, "imports", ref.line)
        index.namespaces = sorted(set(index.namespaces))

    # Pass 2: calls and base classes, now that every file's imported names are known.
    for path in sorted(by_path):
        record, index = by_path[path], resolver.files[path]
        for ref in record.references:
            if ref.kind not in ("calls", "inherits"):
                continue
            totals[ref.kind] += 1
            source = _enclosing(index, ref.source)
            if ref.kind == "inherits" and resolver.node_kind[source] not in _CLASS_LIKE:
                source = _class_at(index, ref.line) or source
            targets, was_ambiguous = resolver.resolve_name(
                ref, index, source, class_like=ref.kind == "inherits", max_global=max_global_candidates
            )
            if not targets:
                if was_ambiguous and ref.kind == "calls":
                    ambiguous += 1
                continue
            resolved[ref.kind] += 1
            for target in targets:
                add(source, target, ref.kind, ref.line)

    edges = contains + [
        GraphEdge(s, t, k, w, line)
        for (s, t, k), (w, line) in weights.items()  # type: ignore[arg-type]
    ]
    edges.sort(key=lambda e: (e.source, e.target, e.kind))
    nodes.sort(key=lambda n: n.qualified_name)
    stats = ResolutionStats(
        files=len(by_path),
        calls_total=totals["calls"],
        calls_resolved=resolved["calls"],
        imports_total=totals["imports"],
        imports_resolved=resolved["imports"],
        inherits_total=totals["inherits"],
        inherits_resolved=resolved["inherits"],
        calls_ambiguous=ambiguous,
    )
    return CodeGraph(nodes, edges, stats, {p: tuple(sorted(s)) for p, s in sorted(external.items())})


# --------------------------------------------------------------------------------------------------
# Metrics


@dataclass(frozen=True, slots=True)
class NodeMetrics:
    """Centrality and coupling of one node. Degrees and PageRank ignore ``contains`` edges."""

    qualified_name: str
    kind: NodeKind
    pagerank: float
    in_degree: int
    """Distinct incoming imports/calls/inherits edges (not their weights)."""
    out_degree: int
    """Distinct outgoing imports/calls/inherits edges (not their weights)."""
    betweenness: float
    """Normalized; exact on small graphs, estimated from a seeded sample of sources on large ones."""
    community: int | None
    """Community id (0 = the largest community), or None when communities were not computed."""
    afferent: int | None = None
    """Modules only: how many other modules depend on this one (Ca)."""
    efferent: int | None = None
    """Modules only: how many other modules this one depends on (Ce)."""
    instability: float | None = None
    """Modules only: Ce / (Ca + Ce); 0.0 for a module with no dependencies either way."""


@dataclass(frozen=True, slots=True)
class GraphMetrics:
    """Metrics of a :class:`CodeGraph`: per node, plus import cycles and communities."""

    nodes: dict[str, NodeMetrics]
    """Qualified name -> metrics, for every node, in qualified-name order."""
    import_cycles: list[list[str]]
    """Strongly connected sets (size > 1) of the module import graph, each sorted, largest first;
    at most ``max_cycles`` of them."""
    import_cycle_count: int
    """How many such sets there are in all (may exceed ``len(import_cycles)``)."""
    community_count: int
    community_level: Literal["symbol", "module"] | None
    """``symbol``: Louvain ran on the whole graph; ``module``: on modules, symbols inherit theirs;
    None: not computed."""
    betweenness_sampled: bool
    """True when betweenness was estimated from ``betweenness_sample`` sources instead of exact."""

    def top(self, n: int = 10, *, kinds: Iterable[str] | None = None) -> list[NodeMetrics]:
        """The ``n`` nodes with the highest PageRank (ties by qualified name), optionally of some kinds."""
        wanted = None if kinds is None else frozenset(kinds)
        pool = (m for m in self.nodes.values() if wanted is None or m.kind in wanted)
        return sorted(pool, key=lambda m: (-m.pagerank, m.qualified_name))[:n]


def _pagerank(
    nodes: list[str], weighted: dict[tuple[str, str], int], alpha: float = 0.85
) -> dict[str, float]:
    """Weighted PageRank; dangling nodes spread their rank uniformly (as networkx does)."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_weighted_edges_from((s, t, w) for (s, t), w in weighted.items())
    try:
        return nx.pagerank(graph, alpha=alpha, weight="weight", max_iter=200, tol=1e-10)
    except ModuleNotFoundError:  # networkx needs scipy for its fast path
        return _pagerank_python(nodes, weighted, alpha)


def _pagerank_python(
    nodes: list[str], weighted: dict[tuple[str, str], int], alpha: float, max_iter: int = 200
) -> dict[str, float]:
    n = len(nodes)
    out_weight: dict[str, float] = defaultdict(float)
    for (s, _), w in weighted.items():
        out_weight[s] += w
    rank = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(max_iter):
        dangling = sum(rank[v] for v in nodes if v not in out_weight)
        base = (1.0 - alpha) / n + alpha * dangling / n
        new = dict.fromkeys(nodes, base)
        for (s, t), w in weighted.items():
            new[t] += alpha * rank[s] * w / out_weight[s]
        if sum(abs(new[v] - rank[v]) for v in nodes) < n * 1e-10:
            return new
        rank = new
    return rank


def _communities(
    nodes: list[str], edges: Iterable[GraphEdge], seed: int, unit_of: dict[str, str] | None = None
) -> dict[str, int]:
    """Louvain communities of the undirected graph of all edges, weighted by counts.

    With ``unit_of`` (node -> its module), the graph is first collapsed to modules and every node
    takes its module's community. Ids are ordered by community size, largest first.
    """
    import networkx as nx

    unit = unit_of.__getitem__ if unit_of is not None else (lambda name: name)
    graph = nx.Graph()
    graph.add_nodes_from(sorted({unit(n) for n in nodes}))
    for e in edges:
        a, b = unit(e.source), unit(e.target)
        if a == b:
            continue
        if graph.has_edge(a, b):
            graph[a][b]["weight"] += e.weight
        else:
            graph.add_edge(a, b, weight=e.weight)
    groups = nx.community.louvain_communities(graph, weight="weight", seed=seed)
    ordered = sorted((sorted(g) for g in groups), key=lambda g: (-len(g), g[0]))
    by_unit = {member: cid for cid, group in enumerate(ordered) for member in group}
    return {n: by_unit[unit(n)] for n in nodes}


def _betweenness(
    nodes: list[str], pairs: Iterable[tuple[str, str]], *, sample: int, seed: int, exact_limit: int
) -> tuple[dict[str, float], bool]:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_edges_from((s, t) for s, t in pairs if s != t)
    values = dict.fromkeys(nodes, 0.0)
    if graph.number_of_nodes() < 3:
        return values, False
    # Isolated nodes have zero betweenness: computing on the connected part only is exact and cheaper.
    sampled = graph.number_of_nodes() > exact_limit and sample < graph.number_of_nodes()
    k = sample if sampled else None
    scores = nx.betweenness_centrality(graph, k=k, seed=random.Random(seed) if sampled else None)
    # networkx normalizes by the connected part's size; rescale to the whole graph so values stay
    # comparable with graphs that have more isolated nodes.
    n_part, n_all = graph.number_of_nodes(), len(nodes)
    scale = ((n_part - 1) * (n_part - 2)) / ((n_all - 1) * (n_all - 2))
    values.update((node, score * scale) for node, score in scores.items())
    return values, sampled


def _sccs(nodes: Iterable[str], pairs: Iterable[tuple[str, str]]) -> Iterator[set[str]]:
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(pairs)
    return nx.strongly_connected_components(graph)


def compute_metrics(
    graph: CodeGraph,
    *,
    betweenness_sample: int = 64,
    seed: int = 0,
    exact_betweenness_limit: int = 2000,
    communities: bool = True,
    symbol_community_limit: int = 20_000,
    max_cycles: int = 100,
) -> GraphMetrics:
    """Measure a graph: PageRank, degrees, betweenness, module coupling, import cycles, communities.

    - PageRank runs on the imports/calls/inherits edges, weighted by their counts; every node gets
      a value, nodes without edges included.
    - Betweenness is exact while the nodes that have dependency edges number at most
      ``exact_betweenness_limit``; beyond that it is estimated from ``betweenness_sample`` sources
      drawn with ``seed``. Edge weights are counts, not distances, so it is unweighted.
    - Module coupling lifts every dependency edge to the modules of its two ends: module A depends
      on B when anything in A imports, calls or inherits from anything in B. Ca counts the other
      modules depending on a module, Ce the modules it depends on.
    - Import cycles are the strongly connected sets of the module ``imports`` graph.
    - Communities are Louvain communities (seeded) on the undirected graph of all edges, so a
      class stays with its methods. Louvain on a symbol graph costs about a minute per 100k nodes,
      so above ``symbol_community_limit`` nodes it runs on the graph of modules instead and each
      symbol takes its module's community (``GraphMetrics.community_level`` says which). Skipped
      when ``communities`` is False.
    - Self-loops (recursion) are edges of the graph but count in none of the metrics.
    """
    names = [n.qualified_name for n in graph.nodes]
    kind_of = {n.qualified_name: n.kind for n in graph.nodes}
    file_of = {n.qualified_name: n.file_path for n in graph.nodes}
    modules = [n.qualified_name for n in graph.nodes if n.kind == "module"]

    weighted: dict[tuple[str, str], int] = defaultdict(int)
    in_degree: dict[str, int] = defaultdict(int)
    out_degree: dict[str, int] = defaultdict(int)
    depends_on: dict[str, set[str]] = defaultdict(set)
    depended_by: dict[str, set[str]] = defaultdict(set)
    import_pairs: list[tuple[str, str]] = []
    for e in graph.edges:
        if e.kind not in DEPENDENCY_KINDS or e.source == e.target:
            continue
        weighted[(e.source, e.target)] += e.weight
        out_degree[e.source] += 1
        in_degree[e.target] += 1
        src_module, dst_module = file_of[e.source], file_of[e.target]
        if src_module != dst_module:
            depends_on[src_module].add(dst_module)
            depended_by[dst_module].add(src_module)
        if e.kind == "imports":
            import_pairs.append((e.source, e.target))

    pagerank = _pagerank(names, weighted) if names else {}
    betweenness, sampled = _betweenness(
        names, weighted, sample=betweenness_sample, seed=seed, exact_limit=exact_betweenness_limit
    )
    level: Literal["symbol", "module"] | None = None
    community: dict[str, int] = {}
    if communities and names:
        level = "symbol" if len(names) <= symbol_community_limit else "module"
        community = _communities(names, graph.edges, seed, file_of if level == "module" else None)

    cycles = sorted(
        (sorted(c) for c in _sccs(modules, import_pairs) if len(c) > 1), key=lambda c: (-len(c), c)
    )

    result: dict[str, NodeMetrics] = {}
    for name in names:
        afferent = efferent = None
        instability = None
        if kind_of[name] == "module":
            afferent, efferent = len(depended_by.get(name, ())), len(depends_on.get(name, ()))
            instability = efferent / (afferent + efferent) if afferent + efferent else 0.0
        result[name] = NodeMetrics(
            qualified_name=name,
            kind=kind_of[name],
            pagerank=pagerank.get(name, 0.0),
            in_degree=in_degree.get(name, 0),
            out_degree=out_degree.get(name, 0),
            betweenness=betweenness.get(name, 0.0),
            community=community.get(name) if communities else None,
            afferent=afferent,
            efferent=efferent,
            instability=instability,
        )
    return GraphMetrics(
        nodes=result,
        import_cycles=cycles[:max_cycles],
        import_cycle_count=len(cycles),
        community_count=len(set(community.values())),
        community_level=level,
        betweenness_sampled=sampled,
    )
