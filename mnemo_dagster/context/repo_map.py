"""A repo map, like aider's: a repository's most important files and symbols, as signature lines fitted
to a token budget.

The symbols are ranked by PageRank over the graph of their references (``calls``, ``imports``,
``inherits`` edges, weighted by how many references each stands for). With a focus (file paths,
directories and/or symbol names), the PageRank is personalised: the random walk jumps back to the
focused symbols (:data:`FOCUS_SHARE` of the jumps; the rest spread evenly over every symbol), and a
little (:data:`REFERRER_SHARE`) to what references them. So the focus ranks first, then its
neighbours: what it calls, imports or inherits (the walk flows there) and what calls it.

The map lists files in rank order (a file ranks as its best symbol, its module included), each with
the signature lines of its chosen symbols in source order, a method under its class, and ``⋮`` where
lines were skipped::

    app/orders.py:
    ⋮
    def validate(order):
    ⋮
    def submit(order):
    ⋮

Symbols are taken in rank order while the map's estimated tokens (:mod:`.tokens`) stay within the
budget; one that does not fit is skipped for smaller ones after it, so the map fills the budget
closely whenever the repository has that much to show. Files none of whose symbols made it come last,
as their path alone, while the budget lasts. The SQL is :mod:`mnemo_dagster.store.map_queries`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mnemo_dagster.context.signatures import Signature, parents, render_file, signature_of
from mnemo_dagster.context.tokens import estimate_tokens
from mnemo_dagster.errors import GraphQueryError
from mnemo_dagster.store.map_queries import (
    HeadLines,
    MapGraph,
    MapNode,
    choose_repository,
    head_lines,
    map_graph,
)

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

DEFAULT_BUDGET = 1024
"""Tokens of a map when none are asked for (aider's default too)."""
MIN_BUDGET = 32
"""A smaller budget cannot hold a file and a signature worth reading."""
MAX_BUDGET = 200_000
"""Beyond any context window."""
TOLERANCE = 0.15
"""A map's tokens stay within ``budget * (1 + TOLERANCE)`` and, when the repository has enough to
show, reach ``budget * (1 - TOLERANCE)``."""
FOCUS_SHARE = 0.9
"""Share of the random walk's jumps that land on the focused symbols."""
REFERRER_SHARE = 0.25
"""With a focus, the symbols that reference a focused symbol share this much of its jumps: its
callers, importers and subclasses rank as its neighbours, below it."""
MAX_MISSES = 64
"""After this many symbols in a row that did not fit, the map is full."""
FETCH_BATCH = 256
"""Symbols whose first lines are read per query (more for a large budget)."""


@dataclass(frozen=True, slots=True)
class MapSymbol:
    """One symbol shown in a repo map."""

    qualified_name: str
    """``path::Dotted.name``."""
    kind: str
    start_line: int
    """1-based, inclusive: the definition's lines (decorators included)."""
    end_line: int
    signature: str
    """The definition's own line(s) (no decorators, indentation removed; a long one cut)."""
    score: float
    """Its PageRank (personalised to the focus, when one was given)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "qualified_name": self.qualified_name,
            "kind": self.kind,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "signature": self.signature,
            "score": float(f"{self.score:.6g}"),
        }


@dataclass(frozen=True, slots=True)
class MapFile:
    """One file of a repo map with its shown symbols."""

    path: str
    score: float
    """The highest score of its symbols (its module's included), shown or not: files are listed by it."""
    symbols: tuple[MapSymbol, ...]
    """Highest score first (the text lists them in source order)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "score": float(f"{self.score:.6g}"),
            "symbols": [symbol.as_dict() for symbol in self.symbols],
        }


@dataclass(frozen=True, slots=True)
class RepoMap:
    """A repository's repo map: the text for a context window, and what it shows."""

    repository: str
    focus: tuple[str, ...]
    token_budget: int
    tokens: int
    """``estimate_tokens(text)``."""
    text: str
    files: tuple[MapFile, ...]
    """In rank order, as in the text."""
    total_files: int
    """Files of the repository's graph (shown or not)."""
    total_symbols: int
    """Symbols other than modules in the repository's graph (shown or not)."""
    notes: tuple[str, ...]
    """What the caller should know: focus items that matched nothing, what was left out."""

    @property
    def shown_symbols(self) -> int:
        return sum(len(f.symbols) for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "focus": list(self.focus),
            "token_budget": self.token_budget,
            "tokens": self.tokens,
            "total_files": self.total_files,
            "total_symbols": self.total_symbols,
            "files": [f.as_dict() for f in self.files],
            "notes": list(self.notes),
            "text": self.text,
        }


# -- focus and ranking ----------------------------------------------------------------------------


def match_focus(nodes: Sequence[MapNode], focus: Iterable[str]) -> tuple[set[int], list[str]]:
    """The ids of the nodes ``focus`` names, and the focus items that name nothing.

    An item names the nodes of a file (its path, or a tail of it from a ``/``: ``orders.py``), of a
    directory (``app/`` or ``app``), or a symbol with its members (a qualified name, a tail of one
    from ``::`` or ``.``: ``Checkout``, ``Checkout.place_order``, or a bare name: ``place_order``).
    """
    matched: set[int] = set()
    unmatched: list[str] = []
    for item in focus:
        text = item.strip().removeprefix("./")
        if not text:
            raise GraphQueryError("an empty focus item names nothing; give a path or a symbol name")
        directory = text.rstrip("/") + "/"
        tails = ("::" + text, "." + text)
        named = {
            n.qualified_name
            for n in nodes
            if n.kind != "module"
            and (n.qualified_name == text or n.name == text or n.qualified_name.endswith(tails))
        }
        members = tuple(qn + "." for qn in named)
        hits = {
            n.id
            for n in nodes
            if n.file_path == text
            or n.file_path.endswith("/" + text)
            or n.file_path.startswith(directory)
            or n.qualified_name in named
            or n.qualified_name.startswith(members)
        }
        if hits:
            matched |= hits
        else:
            unmatched.append(text)
    return matched, unmatched


def _jumps(graph: MapGraph, focused: set[int]) -> dict[int, float]:
    """Where the random walk jumps to with a focus: each focused symbol, and its referrers sharing
    :data:`REFERRER_SHARE` of its weight (by reference count); :data:`FOCUS_SHARE` of the jumps in all,
    the rest spread over every node. Sums to 1."""
    weight: dict[int, float] = defaultdict(float)
    referrers: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for edge in graph.edges:
        if edge.target_id in focused and edge.source_id not in focused:
            referrers[edge.target_id].append((edge.source_id, edge.weight))
    for target in focused:
        weight[target] += 1.0
        total = sum(w for _, w in referrers[target])
        for source, w in referrers[target]:
            weight[source] += REFERRER_SHARE * w / total
    scale = FOCUS_SHARE / sum(weight.values())
    base = (1 - FOCUS_SHARE) / len(graph.nodes)
    return {n.id: base + weight.get(n.id, 0.0) * scale for n in graph.nodes}


def rank(graph: MapGraph, focus_ids: Iterable[int] = ()) -> dict[int, float]:
    """The PageRank of every node of ``graph``, personalised to ``focus_ids`` when given (see the
    module docstring); the scores sum to 1."""
    import networkx as nx

    if not graph.nodes:
        return {}
    focused = set(focus_ids)
    weights: dict[tuple[int, int], float] = defaultdict(float)
    for edge in graph.edges:
        weights[(edge.source_id, edge.target_id)] += edge.weight
    digraph = nx.DiGraph()
    digraph.add_nodes_from(n.id for n in graph.nodes)
    digraph.add_weighted_edges_from((s, t, w) for (s, t), w in weights.items() if s != t)
    jumps = _jumps(graph, focused) if focused else None
    return nx.pagerank(digraph, personalization=jumps, weight="weight", max_iter=500, tol=1e-10)


# -- fitting --------------------------------------------------------------------------------------


class _Fitter:
    """Adds symbols to the map in rank order while its estimated tokens stay within the budget."""

    def __init__(
        self,
        graph: MapGraph,
        scores: Mapping[int, float],
        budget: int,
        fetch: Callable[[list[int]], Mapping[int, HeadLines]],
    ) -> None:
        self.budget = budget
        self.fetch = fetch
        self.nodes = {n.id: n for n in graph.nodes}
        self.by_name = {n.qualified_name: n.id for n in graph.nodes}
        self.last_line: dict[str, int] = defaultdict(int)
        self.file_score: dict[str, float] = defaultdict(float)
        for n in graph.nodes:
            self.last_line[n.file_path] = max(self.last_line[n.file_path], n.end_line)
            self.file_score[n.file_path] = max(self.file_score[n.file_path], scores.get(n.id, 0.0))
        # Symbols first, by score; then the files none of whose symbols made it (a module: its path alone).
        self.ranked = sorted(
            graph.nodes,
            key=lambda n: (n.kind == "module", -scores.get(n.id, 0.0), n.file_path, n.start_line, n.id),
        )
        self.signatures: dict[int, Signature] = {}
        self.shown: dict[str, list[int]] = {}
        """File path -> the ids of its shown symbols (modules stand for the file alone)."""
        self.cost: dict[str, int] = {}
        self.total = 0

    def _context(self, node: MapNode) -> list[int]:
        """``node`` and the definitions around it (a method's class), as ids."""
        if node.kind == "module":
            return [node.id]
        around = [self.by_name[name] for name in parents(node.qualified_name) if name in self.by_name]
        return [node.id, *around]

    def _prefetch(self, start: int) -> None:
        """Read the first lines of the next batch of ranked symbols (and their classes) in one query."""
        wanted: list[int] = []
        batch = max(FETCH_BATCH, self.budget // 4)
        for node in self.ranked[start : start + batch]:
            wanted += [
                i for i in self._context(node) if i not in self.signatures and self.nodes[i].kind != "module"
            ]
        heads = self.fetch(wanted)
        for i in wanted:
            self.signatures[i] = signature_of(self.nodes[i], heads.get(i))

    def _block(self, path: str, ids: Iterable[int]) -> str:
        sigs = [self.signatures[i] for i in ids if self.nodes[i].kind != "module"]
        return render_file(path, sigs, self.last_line[path])

    def fill(self) -> None:
        misses = 0
        for index, node in enumerate(self.ranked):
            if misses >= MAX_MISSES or self.total >= self.budget:
                break
            ids = self._context(node)
            if any(i not in self.signatures and self.nodes[i].kind != "module" for i in ids):
                self._prefetch(index)
            path = node.file_path
            before = self.shown.get(path, [])
            added = [i for i in ids if i not in before]
            if not added:
                continue
            after = before + added
            cost = estimate_tokens(self._block(path, after) + "\n")
            if self.total - self.cost.get(path, 0) + cost > self.budget:
                misses += 1
                continue
            misses = 0
            self.total += cost - self.cost.get(path, 0)
            self.shown[path], self.cost[path] = after, cost

    def files_in_order(self) -> list[str]:
        return sorted(self.shown, key=lambda path: (-self.file_score[path], path))

    def text(self) -> str:
        return "\n".join(self._block(path, self.shown[path]) for path in self.files_in_order())

    def trim(self, limit: int) -> str:
        """The text, with the lowest-ranked symbols dropped while its tokens are over ``limit`` (the
        per-file estimates summed can fall a little short of the whole text's)."""
        text = self.text()
        order = {node.id: k for k, node in enumerate(self.ranked)}
        while estimate_tokens(text) > limit and self.shown:
            path, last = max(
                ((p, i) for p, ids in self.shown.items() for i in ids), key=lambda pi: order[pi[1]]
            )
            kept = [i for i in self.shown[path] if i != last and last not in self._context(self.nodes[i])]
            if kept:
                self.shown[path] = kept
            else:
                del self.shown[path]
            text = self.text()
        return text

    def files(self, scores: Mapping[int, float]) -> tuple[MapFile, ...]:
        out = []
        for path in self.files_in_order():
            symbols = sorted(
                (self.nodes[i] for i in self.shown[path] if self.nodes[i].kind != "module"),
                key=lambda n: (-scores.get(n.id, 0.0), n.start_line),
            )
            out.append(
                MapFile(
                    path,
                    self.file_score[path],
                    tuple(
                        MapSymbol(
                            n.qualified_name,
                            n.kind,
                            n.start_line,
                            n.end_line,
                            self.signatures[n.id].text,
                            scores.get(n.id, 0.0),
                        )
                        for n in symbols
                    ),
                )
            )
        return tuple(out)


def build_map(
    graph: MapGraph,
    fetch: Callable[[list[int]], Mapping[int, HeadLines]],
    focus: Sequence[str] | str = (),
    token_budget: int = DEFAULT_BUDGET,
) -> RepoMap:
    """The repo map of ``graph``; ``fetch`` reads the first lines of a list of node ids (see
    :func:`mnemo_dagster.store.map_queries.head_lines`). Raises :class:`GraphQueryError` for a budget
    out of bounds, or a focus of which no item names a file or symbol."""
    if not MIN_BUDGET <= token_budget <= MAX_BUDGET:
        raise GraphQueryError(
            f"a token budget must be between {MIN_BUDGET} and {MAX_BUDGET}, not {token_budget}"
        )
    focus = (focus,) if isinstance(focus, str) else tuple(focus)
    focus_ids, unmatched = match_focus(graph.nodes, focus)
    if focus and not focus_ids:
        raise GraphQueryError(
            f"the focus {', '.join(map(repr, unmatched))} matches no file, directory or symbol of "
            f"{graph.repository!r}; give paths relative to the repository root or symbol names"
        )
    notes = [f"focus {item!r} matches no file, directory or symbol; left out" for item in unmatched]
    scores = rank(graph, focus_ids)
    fitter = _Fitter(graph, scores, token_budget, fetch)
    fitter.fill()
    text = fitter.trim(int(token_budget * (1 + TOLERANCE)))
    files = fitter.files(scores)
    total_files = len({n.file_path for n in graph.nodes})
    total_symbols = sum(1 for n in graph.nodes if n.kind != "module")
    shown = sum(len(f.symbols) for f in files)
    if len(files) < total_files or shown < total_symbols:
        notes.append(
            f"showing {len(files)} of {total_files} files and {shown} of {total_symbols} symbols; "
            "a larger token budget shows more"
        )
    return RepoMap(
        repository=graph.repository,
        focus=focus,
        token_budget=token_budget,
        tokens=estimate_tokens(text),
        text=text,
        files=files,
        total_files=total_files,
        total_symbols=total_symbols,
        notes=tuple(notes),
    )


def repo_map(
    store: IndexStore,
    repository: str | None = None,
    focus: Sequence[str] | str = (),
    token_budget: int = DEFAULT_BUDGET,
) -> RepoMap:
    """The repo map of ``repository`` (None: the only indexed one) in about ``token_budget`` tokens,
    ranked by PageRank personalised to ``focus`` (paths, directories and/or symbol names; none: plain
    PageRank). Raises :class:`~mnemo_dagster.errors.UnknownRepositoryError` for a repository that is
    not indexed, :class:`GraphQueryError` when the repository has no graph yet, the budget is out of
    bounds or the focus names nothing. A bounded number of queries, whatever the repository's size: the
    repositories, its nodes and edges, then one per :data:`FETCH_BATCH` (or ``token_budget // 4``)
    ranked symbols whose first lines the map needs (one, unless a budget of many symbols is crowded
    with ones that do not fit)."""
    name = choose_repository(store, repository)
    graph = map_graph(store, name)
    if not graph.nodes:
        raise GraphQueryError(f"{name!r} has no symbol graph yet; run `mnemo index PATH` to build it")
    return build_map(graph, lambda ids: head_lines(store, name, ids), focus, token_budget)
