"""Questions about the stored symbol graph: who calls a symbol, what it calls, the most central
symbols, import cycles and the shortest call/import path between two symbols.

Every function reads ``graph_nodes``, ``graph_edges`` and ``graph_metrics`` through the store with
SQLAlchemy Core and bound parameters, and returns frozen records. A symbol is named by its qualified
name (``app/orders.py::Checkout.submit``, a module by its path) or by a unique tail of it
(``Checkout.submit``, ``submit``, ``orders.py``); :func:`resolve` turns a name into one symbol or
raises one of the errors of :mod:`~mnemo_dagster.graph.answers`, whose message says what to do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mnemo_dagster.errors import (
    AmbiguousNameError,
    GraphQueryError,
    SymbolNotFoundError,
    UnknownRepositoryError,
    unknown_repository,
)
from mnemo_dagster.graph.answers import (
    GraphPath,
    GraphSymbol,
    ImportCycle,
    Link,
    Neighbours,
    PathStep,
    RankedSymbol,
)
from mnemo_dagster.graph.records import OUTSIDE_KINDS
from mnemo_dagster.store.graph_paths import shortest_path
from mnemo_dagster.store.schema import graph_edges, graph_metrics, graph_nodes, repositories

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

EDGE_KINDS = ("calls", "imports", "inherits", "contains")
"""Every kind of ``graph_edges`` row."""
PATH_KINDS = ("calls", "imports")
"""Edges a path follows unless told otherwise: a call/import path."""
MAX_CANDIDATES = 20
"""How many candidates an ambiguous name lists."""
MAX_SUGGESTIONS = 5
"""How many close names an unknown name suggests."""
MAX_NAME_CHARS = 1000
"""A longer name cannot be a symbol's; it is refused before any query."""

__all__ = [
    "AmbiguousNameError",
    "GraphPath",
    "GraphQueryError",
    "GraphSymbol",
    "ImportCycle",
    "Link",
    "Neighbours",
    "PathStep",
    "RankedSymbol",
    "SymbolNotFoundError",
    "UnknownRepositoryError",
    "callees",
    "callers",
    "cycles",
    "path",
    "resolve",
    "top",
]

SYMBOL_COLUMNS = (
    graph_nodes.c.repository,
    graph_nodes.c.qualified_name,
    graph_nodes.c.kind,
    graph_nodes.c.file_path,
    graph_nodes.c.start_line,
    graph_nodes.c.end_line,
)


def symbol_of(row: Sequence[Any]) -> GraphSymbol:
    return GraphSymbol(*row[: len(SYMBOL_COLUMNS)])


def _clean(text: str, what: str) -> str:
    """``text`` stripped; refuses what no query could match (empty, too long, a NUL character)."""
    cleaned = text.strip()
    if not cleaned:
        raise GraphQueryError(f"an empty {what} matches nothing; give one")
    if len(cleaned) > MAX_NAME_CHARS or "\x00" in cleaned:
        shown = repr(cleaned[:60]) + ("..." if len(cleaned) > 60 else "")
        raise GraphQueryError(
            f"{what} {shown} cannot be in the index: it is over {MAX_NAME_CHARS} characters or holds a NUL"
        )
    return cleaned


def check_repository(conn: Connection, repository: str | None) -> str | None:
    """``repository`` once checked to exist (None stays None: every repository)."""
    if not sa.inspect(conn).has_table("graph_nodes"):
        raise GraphQueryError("nothing is indexed yet; run `mnemo index PATH` first")
    if repository is None:
        return None
    repository = _clean(repository, "repository name")
    known = list(conn.execute(sa.select(repositories.c.name).order_by(repositories.c.name)).scalars())
    if repository not in known:
        raise UnknownRepositoryError(unknown_repository(repository, known, "none (run `mnemo index PATH`)"))
    return repository


def _in_repository(repository: str | None) -> sa.ColumnElement[bool]:
    return graph_nodes.c.repository == repository if repository is not None else sa.true()


def resolve_in(conn: Connection, name: str, repository: str | None) -> GraphSymbol:
    """The one symbol called ``name``: its exact qualified name first, then a unique tail of one."""
    name = _clean(name, "symbol name")
    scope = _in_repository(repository)
    order = (graph_nodes.c.qualified_name, graph_nodes.c.repository)
    exact = conn.execute(
        sa.select(*SYMBOL_COLUMNS).where(scope, graph_nodes.c.qualified_name == name).order_by(*order)
    ).all()
    if len(exact) == 1:
        return symbol_of(exact[0])
    if not exact:
        # The ``name`` column holds the last segment (``submit`` of ``a.py::Orders.submit``, ``a.py``
        # of a module), so the (repository, name) index narrows the search before the suffix test.
        last = {name.rpartition(".")[2], name.rpartition("/")[2], name.rpartition("::")[2]}
        qn = graph_nodes.c.qualified_name
        tails = sa.or_(*(qn.endswith(sep + name, autoescape=True) for sep in ("::", ".", "/")))
        exact = conn.execute(
            sa.select(*SYMBOL_COLUMNS).where(scope, graph_nodes.c.name.in_(last), tails).order_by(*order)
        ).all()
    if len(exact) == 1:
        return symbol_of(exact[0])
    if exact:
        raise AmbiguousNameError(name, [symbol_of(row) for row in exact[:MAX_CANDIDATES]], len(exact))
    raise SymbolNotFoundError(_not_found_message(conn, name, repository))


def _not_found_message(conn: Connection, name: str, repository: str | None) -> str:
    where = f" in {repository!r}" if repository else ""
    tail = name.rpartition("::")[2].rpartition(".")[2] or name
    close = list(
        conn.execute(
            sa.select(graph_nodes.c.qualified_name)
            .where(_in_repository(repository), graph_nodes.c.name.icontains(tail, autoescape=True))
            .order_by(sa.func.length(graph_nodes.c.qualified_name), graph_nodes.c.qualified_name)
            .limit(MAX_SUGGESTIONS)
        ).scalars()
    )
    hint = f"; did you mean: {', '.join(close)}" if close else ""
    return f"no symbol named {name!r}{where}{hint}"


def resolve(store: IndexStore, name: str, repository: str | None = None) -> GraphSymbol:
    """The symbol that ``name`` names (see the module docstring); raises a :class:`GraphQueryError`."""
    with store.begin() as conn:
        return resolve_in(conn, name, check_repository(conn, repository))


def _kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(k.strip() for k in kinds if k.strip()))
    unknown = [k for k in chosen if k not in EDGE_KINDS]
    if unknown or not chosen:
        raise GraphQueryError(
            f"unknown edge kind(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(EDGE_KINDS)}"
        )
    return chosen


def node_id(symbol: GraphSymbol) -> sa.ScalarSelect[Any]:
    """The ``graph_nodes.id`` of ``symbol``, as a subquery."""
    return (
        sa.select(graph_nodes.c.id)
        .where(
            graph_nodes.c.repository == symbol.repository,
            graph_nodes.c.qualified_name == symbol.qualified_name,
        )
        .scalar_subquery()
    )


def linked(
    conn: Connection,
    node: sa.ScalarSelect[Any],
    kinds: Iterable[str],
    *,
    incoming: bool,
    outside: bool = True,
) -> list[Any]:
    """The symbols at the far end of ``node``'s edges of ``kinds`` (into it with ``incoming``), each row
    with its ``edge`` kind and ``weight``, sorted by qualified name then edge kind; without ``outside``,
    not the external and builtin names (``<external>::subprocess.run``)."""
    near, far = (graph_edges.c.target_id, graph_edges.c.source_id)[:: 1 if incoming else -1]
    own = sa.true() if outside else graph_nodes.c.kind.not_in(OUTSIDE_KINDS)
    return conn.execute(
        sa.select(*SYMBOL_COLUMNS, graph_edges.c.kind.label("edge"), graph_edges.c.weight)
        .select_from(graph_edges)
        .join(graph_nodes, graph_nodes.c.id == far)
        .where(near == node, graph_edges.c.kind.in_(tuple(kinds)), own)
        .order_by(graph_nodes.c.qualified_name, graph_edges.c.kind)
    ).all()


def _neighbours(
    store: IndexStore,
    name: str,
    repository: str | None,
    kinds: Iterable[str],
    *,
    incoming: bool,
    outside: bool = True,
) -> Neighbours:
    chosen = _kinds(kinds)
    with store.begin() as conn:
        subject = resolve_in(conn, name, check_repository(conn, repository))
        rows = linked(conn, node_id(subject), chosen, incoming=incoming, outside=outside)
    links = tuple(Link(symbol_of(row), row.edge, row.weight) for row in rows)
    return Neighbours(subject, "callers" if incoming else "callees", links)


def callers(
    store: IndexStore, name: str, repository: str | None = None, kinds: Iterable[str] = ("calls",)
) -> Neighbours:
    """The symbols with an edge of ``kinds`` (default: calls) into the symbol ``name``, which may be an
    external or builtin name (``<external>::subprocess.run``, ``<builtin>::eval``)."""
    return _neighbours(store, name, repository, kinds, incoming=True)


def callees(
    store: IndexStore,
    name: str,
    repository: str | None = None,
    kinds: Iterable[str] = ("calls",),
    outside: bool = False,
) -> Neighbours:
    """The symbols the symbol ``name`` has an edge of ``kinds`` (default: calls) to; with ``outside``,
    also what it calls in other packages and builtins (``<external>::json.loads``, ``<builtin>::len``)."""
    return _neighbours(store, name, repository, kinds, incoming=False, outside=outside)


def top(
    store: IndexStore, repository: str | None = None, kind: str | None = None, limit: int = 10
) -> list[RankedSymbol]:
    """The ``limit`` symbols with the highest PageRank (ties by qualified name): of ``kind`` when given,
    else every kind but modules."""
    if limit < 1:
        raise GraphQueryError(f"limit must be at least 1, not {limit}")
    with store.begin() as conn:
        repository = check_repository(conn, repository)
        if kind is not None:
            kind = _clean(kind, "kind")
            known = list(
                conn.execute(
                    sa.select(graph_nodes.c.kind)
                    .where(_in_repository(repository))
                    .distinct()
                    .order_by("kind")
                ).scalars()
            )
            if kind not in known:
                raise GraphQueryError(f"no symbols of kind {kind!r}; kinds: {', '.join(known) or 'none'}")
        # External and builtin names have no metrics: PageRank ranks the repository's own symbols.
        wanted = graph_nodes.c.kind == kind if kind is not None else graph_nodes.c.kind != "module"
        rows = conn.execute(
            sa.select(
                *SYMBOL_COLUMNS,
                graph_metrics.c.pagerank,
                graph_metrics.c.in_degree,
                graph_metrics.c.out_degree,
                graph_metrics.c.betweenness,
            )
            .join(graph_metrics, graph_metrics.c.node_id == graph_nodes.c.id)
            .where(_in_repository(repository), wanted)
            .order_by(graph_metrics.c.pagerank.desc(), graph_nodes.c.qualified_name, graph_nodes.c.repository)
            .limit(limit)
        ).all()
    return [RankedSymbol(symbol_of(r), r.pagerank, r.in_degree, r.out_degree, r.betweenness) for r in rows]


def cycles(store: IndexStore, repository: str | None = None) -> list[ImportCycle]:
    """Import cycles: sets of two or more modules that import each other, directly or not. An import
    of a symbol counts as an import of its module. Largest first, then by their modules."""
    import networkx as nx

    source, target = graph_nodes.alias("source"), graph_nodes.alias("target")
    with store.begin() as conn:
        repository = check_repository(conn, repository)
        pairs = conn.execute(
            sa.select(source.c.repository, source.c.file_path, target.c.file_path)
            .select_from(graph_edges)
            .join(source, source.c.id == graph_edges.c.source_id)
            .join(target, target.c.id == graph_edges.c.target_id)
            .where(
                graph_edges.c.kind == "imports",
                source.c.file_path != target.c.file_path,
                source.c.repository == repository if repository is not None else sa.true(),
            )
            .distinct()
        ).all()
    by_repository: dict[str, nx.DiGraph] = defaultdict(nx.DiGraph)
    for name, importer, imported in pairs:
        by_repository[name].add_edge(importer, imported)
    found = [
        ImportCycle(name, tuple(sorted(component)))
        for name, graph in by_repository.items()
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1
    ]
    return sorted(found, key=lambda c: (c.repository, -len(c.modules), c.modules))


def path(
    store: IndexStore,
    source: str,
    target: str,
    repository: str | None = None,
    kinds: Iterable[str] = PATH_KINDS,
) -> GraphPath:
    """The shortest path from the symbol ``source`` to the symbol ``target`` along edges of ``kinds``
    (default: calls and imports), in the edges' direction. Both must be in one repository."""
    chosen = _kinds(kinds)
    with store.begin() as conn:
        repository = check_repository(conn, repository)
        start, end = resolve_in(conn, source, repository), resolve_in(conn, target, repository)
        if start.repository != end.repository:
            raise GraphQueryError(
                f"{start.qualified_name} is in {start.repository!r} and {end.qualified_name} in "
                f"{end.repository!r}: a path stays in one repository"
            )
        ids = dict(
            conn.execute(
                sa.select(graph_nodes.c.qualified_name, graph_nodes.c.id).where(
                    graph_nodes.c.repository == start.repository,
                    graph_nodes.c.qualified_name.in_((start.qualified_name, end.qualified_name)),
                )
            ).all()
        )
        hops = shortest_path(conn, ids[start.qualified_name], ids[end.qualified_name], chosen)
        on_path = graph_nodes.c.id.in_([node for node, _ in hops])
        symbols = {
            row.id: symbol_of(row)
            for row in conn.execute(sa.select(*SYMBOL_COLUMNS, graph_nodes.c.id).where(on_path))
        }
    return GraphPath(start, end, chosen, tuple(PathStep(symbols[node], via) for node, via in hops))
