"""Refresh a repository's graph by what changed, to the graph a full build gives.

A full build (:func:`~.building.build_graph`) leaves, per file, what resolving its references
**read** (:class:`~.records.FileFacts`; :mod:`.memo` records it): the other files it looked into,
and the tables it used (every definition of a name, the subclasses of a class, the bases of the
``inherits`` edges, other packages' classes). Answers do not depend on the order of questions, so a
file's edges are a function of the repository and of the file alone, and :func:`refresh_graph`
resolves again only:

- the **changed** files (their nodes, ``contains`` and ``imports`` edges are theirs alone);
- the files that read one of them, or a table the change moved (their ``inherits`` and ``calls``
  edges); a table is compared whole before and after, and the files that read it join when it
  moved, until nothing more moves.

Every other file keeps its stored edges and facts. Files are read as resolution asks for them
(``load``), so a refresh reads what the change reaches, not the repository. It returns None where
it cannot refresh and a full build is due: a file added or removed, a language changed, or the tree's
own package name moved (each changes how every import resolves).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mnemo_dagster.graph.building import GraphBuilder, import_specs
from mnemo_dagster.graph.facts import has_python_summary, with_lambdas
from mnemo_dagster.graph.jsconfig import parse_js_configs
from mnemo_dagster.graph.jsflow import BASES, JsCalls
from mnemo_dagster.graph.modules import own_package
from mnemo_dagster.graph.pyflow import SUMMARY_VERSION
from mnemo_dagster.graph.pylink import PythonLinker
from mnemo_dagster.graph.pynames import CLASSES, SUBCLASSES, external_classes, members_token, subclasses
from mnemo_dagster.graph.records import COUNTS, FileFacts, FileSymbols, GraphEdge, GraphNode, ResolutionStats
from mnemo_dagster.graph.resolution import Resolver, file_index, global_token, name_family
from mnemo_dagster.models import qualified_name

Definition = tuple[str, str, str, str]
"""(qualified name, name, kind, language) of a definition."""
RESOLVED_AGAIN = ("inherits", "calls")
"""The edges a file that did not change gets anew when a change reaches it."""


@dataclass(frozen=True, slots=True)
class Previous:
    """The repository before the change, as the stored graph and its facts say."""

    facts: Mapping[str, FileFacts]
    """Every file's facts."""
    definitions: list[Definition]
    """Every definition (the graph's nodes, but modules and outside names)."""
    inherits: list[tuple[str, str]]
    """(class, base) of every ``inherits`` edge."""
    own_package: str | None


@dataclass(frozen=True, slots=True)
class Refresh:
    """What a change made of the graph: the nodes of the changed files, the edges of the affected
    files, and every affected file's new facts."""

    changed: frozenset[str]
    affected: frozenset[str]
    """The files resolved again (the changed ones among them)."""
    nodes: list[GraphNode]
    """The nodes of the changed files, and the outside names their edges reach."""
    edges: dict[str, list[GraphEdge]]
    """Affected path -> its edges of the kinds it got anew: every kind for a changed file,
    :data:`RESOLVED_AGAIN` for the others."""
    facts: dict[str, FileFacts]
    stats: ResolutionStats
    tables_moved: frozenset[str]
    """The tables (:data:`~.pylink.SUBCLASSES`, ...) and names the change moved."""


class _Records(Mapping[str, FileSymbols]):
    """Path -> record: the whole record of a file whose references are resolved again (``load``, from
    its chunks), else its outline (``outlines``: what resolving other files needs of it), each
    loaded the first time it is asked for."""

    def __init__(
        self,
        paths: Iterable[str],
        load: Callable[[list[str]], Mapping[str, FileSymbols]],
        outlines: Callable[[list[str]], Mapping[str, FileSymbols]],
    ) -> None:
        self.paths = frozenset(paths)
        self.load = load
        self.outlines = outlines
        self.whole: dict[str, FileSymbols] = {}
        self.outlined: dict[str, FileSymbols] = {}

    def require(self, paths: Iterable[str]) -> None:
        """Load the whole records of ``paths``."""
        wanted = sorted(p for p in set(paths) if p in self.paths and p not in self.whole)
        if wanted:
            found = self.load(wanted)
            self.whole.update({p: with_lambdas(found[p]) for p in wanted})

    def prefetch(self, paths: Iterable[str]) -> None:
        """Load the outlines of ``paths`` (of those not loaded yet) at once."""
        wanted = sorted(
            p for p in set(paths) if p in self.paths and p not in self.whole and p not in self.outlined
        )
        if wanted:
            found = self.outlines(wanted)
            self.outlined.update({p: with_lambdas(found[p]) for p in wanted})

    def __getitem__(self, path: str) -> FileSymbols:
        record = self.whole.get(path) or self.outlined.get(path)
        if record is None:
            if path not in self.paths:
                raise KeyError(path)
            self.prefetch([path])
            record = self.outlined[path]
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.paths))

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, path: object) -> bool:
        return path in self.paths


class _Summaries(Mapping[str, dict[str, Any]]):
    """Path -> the Python flow summary of a file that has one (of this version), read lazily."""

    def __init__(self, records: _Records, python: Iterable[str]) -> None:
        self.records = records
        self.python = frozenset(python)

    def get(self, path: str, default: Any = None) -> Any:  # type: ignore[override]
        if path not in self.python:
            return default
        flow = self.records[path].flow
        summary = flow["python"] if has_python_summary(flow) else None
        return summary if summary is not None and summary.get("v") == SUMMARY_VERSION else default

    def __getitem__(self, path: str) -> dict[str, Any]:
        summary = self.get(path)
        if summary is None:
            raise KeyError(path)
        return summary

    def __iter__(self) -> Iterator[str]:
        return (p for p in sorted(self.python) if self.get(p) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def refresh_graph(
    previous: Previous,
    changed: Mapping[str, FileSymbols],
    load: Callable[[list[str]], Mapping[str, FileSymbols]],
    outlines: Callable[[list[str]], Mapping[str, FileSymbols]],
    *,
    js_configs: Mapping[str, str] | None = None,
    max_global_candidates: int = 1,
) -> Refresh | None:
    """The graph after ``changed`` (path -> new record; every other file as before), resolved over
    what the change reaches; ``load`` gives the records of other files, ``outlines`` their outlines
    (:func:`~.facts.outline`). None: a full build is due."""
    languages = {path: facts.language for path, facts in previous.facts.items()}
    if any(languages.get(path) != record.language for path, record in changed.items()):
        return None
    records = _Records(languages, load, outlines)
    records.whole.update({path: with_lambdas(record) for path, record in changed.items()})
    definitions = [d for d in previous.definitions if d[0].partition("::")[0] not in changed]
    added = [definition for path in sorted(changed) for definition in _definitions(records[path])]
    resolver = Resolver.partial(records, languages, definitions + added, previous.own_package)
    resolver.modules.js_paths = parse_js_configs(js_configs or {})
    packages = {p: resolver.modules.package_heads(import_specs(records[p])) for p in changed}
    heads: dict[str, int] = defaultdict(int)
    for path, facts in previous.facts.items():
        for head, count in packages.get(path, facts.packages).items():
            heads[head] += count
    if own_package(heads) != previous.own_package:
        return None

    moved = set(changed) | _names_moved(previous.definitions, added, set(changed))
    kept_facts = [f for p, f in previous.facts.items() if p not in changed]
    python = {p for p, r in records.whole.items() if _summary(r)} | {
        p for p, f in previous.facts.items() if p not in changed and f.language == "python"
    }
    summaries = _Summaries(records, python)
    classes = frozenset().union(
        *(f.classes for f in kept_facts),
        *(external_classes([s]) for p in changed if (s := summaries.get(p)) is not None),
    )
    if classes != frozenset().union(*(f.classes for f in previous.facts.values())):
        moved.add(CLASSES)
    linker = PythonLinker(resolver, summaries, classes=classes, subclass_table={})
    old_table = subclasses({p: f.mros for p, f in previous.facts.items()})
    mros: dict[str, tuple[dict[str, list[str]], frozenset[Any]]] = {}
    while True:
        affected = set(changed) | {p for p, f in previous.facts.items() if not f.reads.isdisjoint(moved)}
        records.require(affected)
        records.prefetch(affected.union(*(previous.facts[p].reads for p in affected if p in previous.facts)))
        for path in sorted(affected - mros.keys()):
            mros[path] = linker.class_mros(path) if path in summaries else ({}, frozenset())
        table = subclasses({p: mros[p][0] if p in mros else f.mros for p, f in previous.facts.items()})
        if table != old_table and SUBCLASSES not in moved:
            moved.add(SUBCLASSES)
            continue
        builder = GraphBuilder(records, resolver, max_global_candidates)
        for path in sorted(affected):
            builder.add_uses(path, "inherits")
        inherits = {(s, t) for s, t, k in builder.weights if k == "inherits"}
        if inherits != {(s, t) for s, t in previous.inherits if _path(s) in affected} and BASES not in moved:
            moved.add(BASES)
            continue
        break
    linker.subclass_table = table
    # The bases of the ``inherits`` edges serve the calls of JavaScript files only.
    if any("js" in (records[path].flow or {}) for path in affected):
        kept = [(s, t) for s, t in previous.inherits if _path(s) not in affected]
        builder.js_calls = JsCalls(resolver, _bases(kept + sorted(inherits)))
    for path in sorted(affected):
        builder.add_uses(path, "calls")
    builder.add_python_flow(linker, [p for p in sorted(affected) if p in summaries])
    for path in sorted(changed):
        builder.add_definitions(path)
        builder.add_imports(path)
    return _refresh(previous, changed, affected, builder, mros, packages, moved)


def _refresh(
    previous: Previous,
    changed: Mapping[str, FileSymbols],
    affected: set[str],
    builder: GraphBuilder,
    mros: Mapping[str, tuple[dict[str, list[str]], frozenset[Any]]],
    packages: Mapping[str, dict[str, int]],
    moved: set[str],
) -> Refresh:
    graph = builder.graph()
    edges: dict[str, list[GraphEdge]] = {path: [] for path in affected}
    for edge in graph.edges:
        edges[edge.source.partition("::")[0]].append(edge)
    facts = dict(previous.facts)
    for path in affected:
        new = builder.facts(path, *mros[path], packages.get(path, previous.facts[path].packages))
        if path not in changed:  # its imports were not resolved again
            kept = previous.facts[path].counts
            counts = {**new.counts, **{k: v for k, v in kept.items() if k.startswith("imports_")}}
            new = replace(new, counts=counts)
        facts[path] = new
    stats = ResolutionStats(
        files=len(facts), **{name: sum(f.counts.get(name, 0) for f in facts.values()) for name in COUNTS}
    )
    return Refresh(
        changed=frozenset(changed),
        affected=frozenset(affected),
        nodes=graph.nodes,
        edges=edges,
        facts={path: facts[path] for path in affected},
        stats=stats,
        tables_moved=frozenset(moved - set(changed)),
    )


def _path(qualified: str) -> str:
    return qualified.partition("::")[0]


def _summary(record: FileSymbols) -> bool:
    return has_python_summary(record.flow)


def _definitions(record: FileSymbols) -> list[Definition]:
    """The definitions of one file, as a full resolver indexes them."""
    index = file_index(record)
    return [
        (qualified_name(record.path, dotted), symbol.name, symbol.kind, record.language)
        for dotted, symbol in sorted(index.symbols.items())
    ]


def _names_moved(before: Iterable[Definition], after: Iterable[Definition], paths: set[str]) -> set[str]:
    """The tokens of step 4's tables (:func:`~.resolution.global_token`) whose entries differ between
    the definitions of ``paths`` before and after."""
    from mnemo_dagster.graph.records import CLASS_LIKE_KINDS

    def entries(definitions: Iterable[Definition]) -> set[tuple[str, str, str, bool]]:
        return {
            (name_family(language), name, qualified, kind in CLASS_LIKE_KINDS)
            for qualified, name, kind, language in definitions
            if qualified.partition("::")[0] in paths
        }

    def members(definitions: Iterable[Definition]) -> set[tuple[str, str]]:
        """(class, name) of what the classes of ``paths`` define (:meth:`~.pylink.PythonLinker.definers`)."""
        mine = [d for d in definitions if d[0].partition("::")[0] in paths]
        classes = {qualified for qualified, _, kind, _ in mine if kind == "class"}
        found = set()
        for qualified, *_ in mine:
            parent, _, name = qualified.rpartition(".")
            if parent in classes:
                found.add((parent, name))
        return found

    before, after = list(before), list(after)
    moved: set[str] = set()
    for family, name, _, class_like in entries(before) ^ entries(after):
        moved.add(global_token(family, name, class_like=False))
        if class_like:
            moved.add(global_token(family, name, class_like=True))
    moved |= {members_token(name) for _, name in members(before) ^ members(after)}
    return moved


def _bases(inherits: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Class -> its bases, as :meth:`~.building.GraphBuilder.bases` lists them."""
    found: dict[str, list[str]] = defaultdict(list)
    for source, target in sorted(set(inherits)):
        found[source].append(target)
    return dict(found)
