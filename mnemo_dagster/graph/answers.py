"""What the graph questions of :mod:`mnemo_dagster.store.graph_queries` answer.

They raise the :class:`~mnemo_dagster.errors.GraphQueryError` family. Every record is frozen and has
``as_dict()``, the JSON form the CLI and the MCP server print.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GraphSymbol:
    """One node of the graph: a module, class, function, method, ..."""

    repository: str
    qualified_name: str
    """``path::Dotted.name``; a module's is its path (POSIX, relative to the repository root)."""
    kind: str
    file_path: str
    start_line: int
    """1-based, inclusive."""
    end_line: int
    """1-based, inclusive."""

    @property
    def label(self) -> str:
        """``qualified_name (kind, repository)``: how messages name a symbol."""
        return f"{self.qualified_name} ({self.kind}, {self.repository})"

    def as_dict(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.__slots__}


@dataclass(frozen=True, slots=True)
class Link:
    """A symbol at the other end of an edge, with the edge's kind and weight (how many references)."""

    symbol: GraphSymbol
    kind: str
    weight: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.symbol.as_dict(), "edge": self.kind, "weight": self.weight}


@dataclass(frozen=True, slots=True)
class Neighbours:
    """The callers or the callees of one symbol."""

    subject: GraphSymbol
    direction: str
    """``callers`` (edges into the subject) or ``callees`` (edges out of it)."""
    links: tuple[Link, ...]
    """Sorted by qualified name, then edge kind."""

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.subject.as_dict(), self.direction: [link.as_dict() for link in self.links]}


@dataclass(frozen=True, slots=True)
class RankedSymbol:
    """A symbol with its ``graph_metrics`` row."""

    symbol: GraphSymbol
    pagerank: float
    in_degree: int
    out_degree: int
    betweenness: float

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.symbol.as_dict(),
            "pagerank": self.pagerank,
            "in_degree": self.in_degree,
            "out_degree": self.out_degree,
            "betweenness": self.betweenness,
        }


@dataclass(frozen=True, slots=True)
class ImportCycle:
    """Modules of one repository that import each other, directly or through one another."""

    repository: str
    modules: tuple[str, ...]
    """Module paths, sorted."""

    def as_dict(self) -> dict[str, Any]:
        return {"repository": self.repository, "modules": list(self.modules)}


@dataclass(frozen=True, slots=True)
class PathStep:
    """One symbol on a path and the kind of the edge that led to it (None for the first)."""

    symbol: GraphSymbol
    via: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.symbol.as_dict(), "via": self.via}


@dataclass(frozen=True, slots=True)
class GraphPath:
    """The shortest path from ``source`` to ``target`` along edges of ``kinds``; no steps if none."""

    source: GraphSymbol
    target: GraphSymbol
    kinds: tuple[str, ...]
    steps: tuple[PathStep, ...]

    @property
    def found(self) -> bool:
        return bool(self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.as_dict(),
            "target": self.target.as_dict(),
            "kinds": list(self.kinds),
            "found": self.found,
            "steps": [step.as_dict() for step in self.steps],
        }
