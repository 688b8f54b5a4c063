"""The records of a symbol graph: its input per file, its nodes and edges, and how well it resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mnemo_dagster.models import Reference, Symbol

if TYPE_CHECKING:
    import networkx as nx

NodeKind = Literal[
    "module", "class", "function", "method", "interface", "type", "enum", "lambda", "external", "builtin"
]
EdgeKind = Literal["contains", "imports", "calls", "inherits"]

DEPENDENCY_KINDS: frozenset[str] = frozenset({"imports", "calls", "inherits"})
"""Edge kinds that count as a dependency (everything but ``contains``)."""

CLASS_LIKE_KINDS: frozenset[str] = frozenset({"class", "interface", "type", "enum"})
"""Node kinds a base-class reference may resolve to."""

OUTSIDE_KINDS: frozenset[str] = frozenset({"external", "builtin"})
"""Node kinds of what the repository calls but does not define (``<external>::subprocess.run``,
``<builtin>::len``): no file, no lines, and left out of the metrics."""


@dataclass(frozen=True, slots=True)
class FileSymbols:
    """The definitions and references of one file: the input of :func:`build_graph`."""

    path: str
    """Path relative to the repository root, POSIX separators."""
    language: str
    symbols: tuple[Symbol, ...]
    references: tuple[Reference, ...]
    flow: dict[str, Any] | None = None
    """Flow facts taken at index time (:mod:`.facts`): ``{"python": ...}`` or ``{"js": ...}``; None when
    the file was indexed without them, and its calls then resolve by name only."""


@dataclass(frozen=True, slots=True, order=True)
class GraphNode:
    """A module (file), a definition inside one, or what the repository calls from outside it (kinds
    :data:`OUTSIDE_KINDS`, with an empty ``file_path`` and lines 0)."""

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
    calls_external: int = 0
    """Calls that reach only what another package or Python's builtins define (not in
    ``calls_resolved``)."""

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for JSON metadata)."""
        return {name: getattr(self, name) for name in self.__slots__}


COUNTS = (
    "calls_total",
    "calls_resolved",
    "imports_total",
    "imports_resolved",
    "inherits_total",
    "inherits_resolved",
    "calls_ambiguous",
    "calls_external",
)
"""The counters of :class:`ResolutionStats` that add up over files."""


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What a build learned of one file that the next refresh needs, to know what a change reaches
    and to redo only that (:mod:`.incremental`)."""

    language: str
    counts: dict[str, int]
    """The file's share of each of :data:`COUNTS`."""
    reads: frozenset[str]
    """What resolving its references read besides the file itself (:mod:`.memo`): other files'
    paths, and tokens of tables (``<subclasses>``, ``<names>:python:get``)."""
    mros: dict[str, list[str]]
    """The MRO of each class its Python flow summary defines (the subclass table is built from them)."""
    classes: frozenset[str]
    """Other packages' classes its classes' bases name."""
    packages: dict[str, int]
    """Its count towards the tree's own package name (:meth:`~.modules.ModuleIndex.package_heads`)."""
    outline: dict[str, Any]
    """What resolving other files needs of it (:func:`~.incremental.outline`): its definitions,
    imports and flow summary, without its own calls."""


@dataclass(slots=True)
class CodeGraph:
    """The graph of one repository: sorted nodes and edges plus how well references resolved."""

    nodes: list[GraphNode]
    """Sorted by qualified name."""
    edges: list[GraphEdge]
    """Sorted by (source, target, kind)."""
    stats: ResolutionStats
    external_imports: dict[str, tuple[str, ...]] = field(default_factory=dict)
    files: dict[str, FileFacts] = field(default_factory=dict)
    """Path -> what the next refresh keeps of it (set by :func:`~.building.build_graph`)."""
    own_package: str | None = None
    """The name of the package the tree is, where imports name it (:mod:`.modules`)."""
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
