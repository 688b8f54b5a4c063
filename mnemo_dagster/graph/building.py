"""Build the symbol graph of a repository from the records of all its files.

Repeated references collapse into one edge whose ``weight`` counts them and whose ``line`` is the
first occurrence.

**External imports** (stdlib, third-party) do not become nodes: :attr:`CodeGraph.external_imports`
lists, per module, the module specifiers that did not resolve, which is enough to report a module's
third-party dependencies. **Calls** into another package or Python's builtins do (Python only):
``<external>::subprocess.run`` and ``<builtin>::len``, of kinds ``external`` and ``builtin``, with no
file; the metrics leave them out, so they neither dominate PageRank nor count as coupling.

Output is deterministic (nodes and edges sorted) and the work is linear in the number of records:
definitions are indexed by name and by path once.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from mnemo_dagster.graph.facts import has_python_summary, outline, with_lambdas
from mnemo_dagster.graph.jsconfig import parse_js_configs
from mnemo_dagster.graph.jsflow import JsCalls
from mnemo_dagster.graph.modules import language_family
from mnemo_dagster.graph.pylink import PythonLinker
from mnemo_dagster.graph.pynames import BUILTIN, external_classes, is_external
from mnemo_dagster.graph.records import (
    CLASS_LIKE_KINDS,
    COUNTS,
    CodeGraph,
    FileFacts,
    FileSymbols,
    GraphEdge,
    GraphNode,
    ResolutionStats,
)
from mnemo_dagster.graph.resolution import Resolver
from mnemo_dagster.models import qualified_name


def build_graph(
    files: Iterable[FileSymbols],
    *,
    max_global_candidates: int = 1,
    js_configs: Mapping[str, str] | None = None,
) -> CodeGraph:
    """Build the symbol graph of a repository from the records of all its files.

    ``max_global_candidates`` bounds the last resolution step for calls and base classes: a name
    with more same-language definitions across the repository than this is left unresolved rather
    than fanned out to all of them. A path given twice keeps its last record. ``js_configs`` maps the
    paths of ``tsconfig.json``/``jsconfig.json`` files to their text (for ``paths`` and ``baseUrl``).
    """
    by_path = {f.path: with_lambdas(f) for f in files}
    resolver = Resolver(by_path)
    resolver.modules.js_paths = parse_js_configs(js_configs or {})
    builder = GraphBuilder(by_path, resolver, max_global_candidates)
    paths = sorted(by_path)
    # Pass 1: nodes, containment and imports (which also bind imported names).
    for path in paths:
        builder.add_definitions(path)
        builder.add_imports(path)
    # Pass 2: base classes, then calls, now that every file's imported names and bases are known.
    for path in paths:
        builder.add_uses(path, "inherits")
    builder.js_calls = JsCalls(resolver, builder.bases())
    for path in paths:
        builder.add_uses(path, "calls")
    summaries = {p: r.flow["python"] for p, r in by_path.items() if has_python_summary(r.flow)}
    linker = PythonLinker(resolver, summaries)
    builder.add_python_flow(linker, sorted(linker.summaries))
    graph = builder.graph()
    packages = {p: resolver.modules.package_heads(import_specs(by_path[p])) for p in paths}
    graph.files = {p: builder.facts(p, *linker.mros.get(p, ({}, frozenset())), packages[p]) for p in paths}
    graph.own_package = resolver.modules.own_package
    return graph


def outside_node(target: str) -> GraphNode:
    """The node of an external or builtin name (``<external>::subprocess.run``)."""
    dotted = target.partition("::")[2]
    kind = "builtin" if target.startswith(BUILTIN) else "external"
    return GraphNode(target, dotted.rsplit(".", 1)[-1], kind, "", 0, 0, "python")


def import_specs(record: FileSymbols) -> list[str]:
    """What :meth:`~.modules.ModuleIndex.find_own_package` counts of one file."""
    if language_family(record.language) != "python":
        return []
    return [ref.module or ref.name for ref in record.references if ref.kind == "imports"]


class GraphBuilder:
    """Nodes, edges and resolution counters, accumulated over the passes of :func:`build_graph`, per
    file (the incremental refresh runs the passes over the files a change reaches)."""

    def __init__(
        self, by_path: Mapping[str, FileSymbols], resolver: Resolver, max_global_candidates: int
    ) -> None:
        self.by_path = by_path
        self.max_global = max_global_candidates
        self.resolver = resolver
        self.nodes: list[GraphNode] = []
        self.contains: list[GraphEdge] = []
        self.weights: dict[tuple[str, str, str], list[int]] = {}
        """(source, target, kind) -> [weight, first line] of a dependency edge."""
        self.external: dict[str, set[str]] = defaultdict(set)
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
        """Path -> its share of the :class:`~.records.ResolutionStats` counters."""
        self.reads: dict[str, set[Hashable]] = defaultdict(set)
        """Path -> what resolving its references read (:mod:`.memo`)."""
        self.js_calls: JsCalls | None = None
        self.outside: dict[str, GraphNode] = {}
        """External and builtin name -> its node (:data:`~.records.OUTSIDE_KINDS`)."""

    def add_edge(self, source: str, target: str, kind: str, line: int) -> None:
        """Count one reference from ``source`` to ``target``, keeping the first line it occurs on."""
        entry = self.weights.get((source, target, kind))
        if entry is None:
            self.weights[(source, target, kind)] = [1, line]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], line)

    def add_definitions(self, path: str) -> None:
        """The module node of a file, its definitions, and the ``contains`` edges between them."""
        record, index = self.by_path[path], self.resolver.files[path]
        last_line = max(
            [s.end_line for s in index.symbols.values()] + [r.line for r in record.references] + [1]
        )
        self.nodes.append(
            GraphNode(path, posixpath.basename(path), "module", path, 1, last_line, record.language)
        )
        for dotted, symbol in index.symbols.items():
            qualified = qualified_name(path, dotted)
            self.nodes.append(
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
            self.contains.append(GraphEdge(index.enclosing(parent), qualified, "contains"))

    def add_imports(self, path: str) -> None:
        """The ``imports`` edges of a file; binds the names it imports for the second pass."""
        counts = self.counts[path]
        for ref, target, spec in self.resolver.bind(self.resolver.files[path]):
            counts["imports_total"] += 1
            if target is None:
                self.external[path].add(spec)
                continue
            counts["imports_resolved"] += 1
            self.add_edge(path, target, "imports", ref.line)

    def add_uses(self, path: str, kind: str) -> None:
        """The ``calls`` or ``inherits`` edges of a file (calls of a file with flow facts by its facts)."""
        self.reads[path] |= self.resolver.memo.query(lambda: self._add_uses(path, kind))[1]

    def _add_uses(self, path: str, kind: str) -> None:
        record, index = self.by_path[path], self.resolver.files[path]
        counts = self.counts[path]
        flow = record.flow or {}
        if kind == "calls" and has_python_summary(flow):
            return  # resolved by add_python_flow
        shapes: dict[tuple[int, str], list[list[Any]]] = defaultdict(list)
        for fact in flow.get("js", {}).get("calls", ()):
            shapes[(fact[0], fact[1])].append(fact)
        for ref in record.references:
            if ref.kind != kind:
                continue
            counts[f"{ref.kind}_total"] += 1
            source = index.enclosing(ref.source)
            if ref.kind == "inherits" and self.resolver.node_kind[source] not in CLASS_LIKE_KINDS:
                source = index.class_at(ref.line) or source
            if "js" in flow and ref.kind == "calls":
                targets = self.js_calls.resolve(ref, index, shapes.get((ref.line, ref.name), []))
                was_ambiguous = False
            else:
                targets, was_ambiguous = self.resolver.resolve_name(
                    ref, index, source, class_like=ref.kind == "inherits", max_global=self.max_global
                )
            if not targets:
                if was_ambiguous and ref.kind == "calls":
                    counts["calls_ambiguous"] += 1
                continue
            counts[f"{ref.kind}_resolved"] += 1
            for target in targets:
                self.add_edge(source, target, ref.kind, ref.line)

    def bases(self) -> dict[str, list[str]]:
        """Class -> its resolved base classes, from the ``inherits`` edges found so far."""
        found: dict[str, list[str]] = defaultdict(list)
        for source, target, kind in sorted(self.weights):
            if kind == "inherits":
                found[source].append(target)
        return dict(found)

    def add_python_flow(self, linker: PythonLinker, paths: Iterable[str]) -> None:
        """The ``calls`` edges of the Python files ``paths`` (which have flow summaries), linked
        together (:mod:`.pylink`)."""
        for path in paths:
            links = linker.file_links(path)
            counts = self.counts[path]
            counts["calls_total"] += links.total
            counts["calls_resolved"] += links.resolved
            counts["calls_external"] += links.external
            self.reads[path] |= links.reads
            for source, target, line in links.edges:
                if is_external(target) and target not in self.outside:
                    dotted = target.partition("::")[2]
                    kind = "builtin" if target.startswith(BUILTIN) else "external"
                    self.outside[target] = GraphNode(
                        target, dotted.rsplit(".", 1)[-1], kind, "", 0, 0, "python"
                    )
                self.add_edge(source, target, "calls", line)

    def facts(
        self, path: str, mros: dict[str, list[str]], mro_reads: Iterable[Hashable], packages: dict[str, int]
    ) -> FileFacts:
        """What the next refresh keeps of ``path`` (:class:`~.records.FileFacts`): ``mros`` and what
        finding them read (:meth:`~.pylink.PythonLinker.class_mros`), ``packages``
        (:meth:`~.modules.ModuleIndex.package_heads`)."""
        record = self.by_path[path]
        flow = record.flow or {}
        summary = flow.get("python") if has_python_summary(flow) else None
        return FileFacts(
            language=record.language,
            counts=dict(self.counts[path]),
            reads=frozenset(str(token) for token in self.reads[path].union(mro_reads) if token != path),
            mros=mros,
            classes=external_classes([summary]) if summary else frozenset(),
            packages=packages,
            outline=outline(record),
        )

    def graph(self) -> CodeGraph:
        """The sorted graph and its resolution counters."""
        edges = self.contains + [
            GraphEdge(s, t, k, w, line)
            for (s, t, k), (w, line) in self.weights.items()  # type: ignore[arg-type]
        ]
        edges.sort(key=lambda e: (e.source, e.target, e.kind))
        nodes = sorted([*self.nodes, *self.outside.values()], key=lambda n: n.qualified_name)
        stats = ResolutionStats(
            files=len(self.by_path), **{name: sum(c[name] for c in self.counts.values()) for name in COUNTS}
        )
        external = {p: tuple(sorted(s)) for p, s in sorted(self.external.items())}
        return CodeGraph(nodes, edges, stats, external)
