"""Change impact: what a change touches in the symbol graph, what reaches it, and the tests that do.

:func:`impact` takes a change as exactly one of: the text of a unified diff (``git diff`` output), a
commit range ``A..B`` (``A...B`` from their merge base, or one commit: its change against its first
parent) that git diffs in the repository's root, or symbol names. It answers with an :class:`Impact`:

- the **changed symbols**: the innermost graph node around each changed line (a method rather than
  its class; the module itself for a line outside every definition, such as an import);
- their **callers**, up to ``depth`` edges away: ``calls`` edges walked backwards, ``inherits`` edges
  too (a subclass of a changed class), and at the first level ``imports`` of a changed module; each
  with its distance and the path it came through, ranked by distance, then PageRank;
- the **tests** that reach them (a symbol in a test file or a test directory, or a function or class
  named ``test...``), up to ``test_depth`` edges away (``depth + 2`` by default), listed apart.

Which lines changed. A diff has two sides; the index holds one version of each file, and line
numbers are those of that version. On the old side, a removed line is itself changed; an inserted
line lies between two old lines and touches the one above (unless a blank inserted line separates
them, so a new function added after another leaves that one alone; an indented line that continues
the block above still touches it) and the one below (unless a blank inserted line follows it); lines
that replace removed lines touch only those. Past a file's last line, the change is the module's. The
same rules map the change onto the new side. Blank lines change nothing and are skipped. The walk errs
on the side of reporting more.

Which side the index holds is decided per file (``side="auto"``): for a commit range, the side whose
content hash is the one the index stored (the old side when it matches neither, with a note); for
diff text, which carries no file contents, the old side, since an index is normally older than the
edit under review, unless only the new path is indexed (a file the diff adds). ``side="old"`` or
``"new"`` forces a side. Git runs as a subprocess with a timeout; the store's queries are in
:mod:`mnemo_dagster.store.impact_queries`.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mnemo_dagster.context.diffs import DiffFile, line_ranges, parse_diff
from mnemo_dagster.context.git import blob_hashes, checkout_prefix, commit_range, git
from mnemo_dagster.errors import GraphQueryError
from mnemo_dagster.graph.answers import GraphSymbol
from mnemo_dagster.store import graph_queries
from mnemo_dagster.store.impact_queries import (
    ImpactNode,
    callers_walk,
    indexed_hashes,
    nodes_named,
    nodes_on_lines,
    repository_roots,
    repository_row,
)

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

DEFAULT_DEPTH = 3
MAX_DEPTH = 10
"""A deeper walk reaches most of any connected repository: not an impact any more."""
TEST_DEPTH_EXTRA = 2
"""Tests are looked for this many edges further than callers (a test often calls through a helper)."""
DEFAULT_LIMIT = 50
MAX_WALKED = 10_000
"""Nodes the backward walk may reach before it stops (with a note)."""
"""Never prompt; messages in English (they are shown as they are)."""
SIDES = ("auto", "old", "new")

_TEST_DIR = re.compile(r"^(__tests__|specs?|(.*[_.-])?tests?)$")
_TEST_FILE = re.compile(
    r"^test_.*\.py$|_test\.py$|^conftest\.py$|_test\.go$|\.(test|spec)\.[cm]?[jt]sx?$|_(spec|test)\.rb$"
    r"|(Test|Tests|IT|Spec)\.(java|kt|kts|scala|groovy|cs|swift)$|_test\.(c|cc|cpp|rs|exs?|dart)$"
)
_TEST_NAME = re.compile(r"^(test|Test)($|[_A-Z0-9])")
_TEST_KINDS = frozenset({"function", "method", "class"})


# ---------------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """A file of the change, with its changed lines mapped onto the version the index holds."""

    old_path: str | None
    new_path: str | None
    side: str
    """``old`` or ``new``: the side of the change whose line numbers ``lines`` are."""
    status: str
    """``indexed`` (the index holds exactly that side), ``assumed`` (diff text: it is taken to),
    ``stale`` (the index holds neither side: lines may be off), ``not indexed`` (no version of it is)."""
    lines: tuple[tuple[int, int], ...]
    """Inclusive ranges of changed lines."""

    @property
    def path(self) -> str:
        """The path on ``side``."""
        return (
            (self.old_path if self.side == "old" else self.new_path) or self.new_path or self.old_path or ""
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "new_path": self.new_path,
            "side": self.side,
            "status": self.status,
            "lines": [list(span) for span in self.lines],
        }


@dataclass(frozen=True, slots=True)
class ChangedSymbol:
    """A symbol the change touches, with the changed lines it is the innermost symbol of."""

    symbol: GraphSymbol
    pagerank: float
    lines: tuple[tuple[int, int], ...]
    """Inclusive ranges; empty when the symbol was named rather than found in a diff."""

    def as_dict(self) -> dict[str, Any]:
        return {**self.symbol.as_dict(), "pagerank": self.pagerank, "lines": [list(s) for s in self.lines]}


@dataclass(frozen=True, slots=True)
class ImpactedSymbol:
    """A symbol that reaches a changed one: a caller (or subclass, or importer) or a test."""

    symbol: GraphSymbol
    pagerank: float
    distance: int
    """Edges from it to the nearest changed symbol."""
    path: tuple[str, ...]
    """Qualified names from this symbol to the changed one it reaches (``distance + 1`` of them)."""
    edges: tuple[str, ...]
    """The kind of each edge along ``path`` (calls, inherits, imports)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.symbol.as_dict(),
            "pagerank": self.pagerank,
            "distance": self.distance,
            "path": list(self.path),
            "edges": list(self.edges),
        }


@dataclass(frozen=True, slots=True)
class Impact:
    """What a change touches and what reaches it; each list is cut at the limit, ``cut`` says by how many."""

    repository: str
    source: str
    """``diff``, ``commits`` or ``symbols``."""
    subject: str
    """The commit range (with the commits it resolved to), the symbol names, or ``diff text``."""
    depth: int
    test_depth: int
    files: tuple[ChangedFile, ...]
    changed: tuple[ChangedSymbol, ...]
    callers: tuple[ImpactedSymbol, ...]
    """By distance, then PageRank (highest first), then qualified name."""
    tests: tuple[ImpactedSymbol, ...]
    """Ranked as ``callers``."""
    cut: dict[str, int] = field(default_factory=dict)
    """Entries left off each list (files, changed, callers, tests) by the limit."""
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "source": self.source,
            "subject": self.subject,
            "depth": self.depth,
            "test_depth": self.test_depth,
            "files": [f.as_dict() for f in self.files],
            "changed": [c.as_dict() for c in self.changed],
            "callers": [c.as_dict() for c in self.callers],
            "tests": [t.as_dict() for t in self.tests],
            "cut": dict(self.cut),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------------- overlap and tests


def innermost(nodes: Sequence[ImpactNode], lines: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """Node id -> the ``lines`` it is the innermost node of (the shortest node whose range holds the
    line; ties go to the later start, then to anything but the module; a line past every node goes to
    the module). ``nodes`` are of one file."""
    order = sorted(nodes, key=lambda node: node.symbol.start_line)
    module = next((node for node in nodes if node.symbol.kind == "module"), None)
    heap: list[tuple[int, int, bool, str, int, int]] = []
    owned: dict[int, list[int]] = {}
    next_node = 0
    for line in sorted(set(lines)):
        while next_node < len(order) and order[next_node].symbol.start_line <= line:
            node = order[next_node]
            s = node.symbol
            key = (s.end_line - s.start_line, -s.start_line, s.kind == "module", s.qualified_name)
            heapq.heappush(heap, (*key, s.end_line, node.id))
            next_node += 1
        while heap and heap[0][4] < line:  # ended before this line, so before every later one too
            heapq.heappop(heap)
        if heap:
            owned.setdefault(heap[0][5], []).append(line)
        elif module is not None:  # past the module's last line: code added at the end of the file
            owned.setdefault(module.id, []).append(line)
    return {node_id: tuple(found) for node_id, found in owned.items()}


def short_name(qualified_name: str) -> str:
    """``submit`` of ``app/orders.py::submit``; a module's path stays whole."""
    return qualified_name.rpartition("::")[2] or qualified_name


def is_test(symbol: GraphSymbol) -> bool:
    """Whether ``symbol`` is test code: in a test file (``test_*.py``, ``*_test.go``, ``*.test.ts``,
    ``*_spec.rb``, ``*Test.java``, ...) or a test directory (``tests/``, ``__tests__/``, ``spec/``,
    ``*_tests/``), or a function, method or class named ``test...``/``Test...``."""
    parts = PurePosixPath(symbol.file_path).parts
    if any(_TEST_DIR.match(part) for part in parts[:-1]) or (parts and _TEST_FILE.search(parts[-1])):
        return True
    name = short_name(symbol.qualified_name).rpartition(".")[2]
    return symbol.kind in _TEST_KINDS and bool(_TEST_NAME.match(name))


# ------------------------------------------------------------------------------------------- impact


def _map_files(
    store: IndexStore,
    repository: str,
    diff_files: Sequence[DiffFile],
    side: str,
    blobs: dict[tuple[str, str], str] | None,
) -> tuple[list[ChangedFile], list[str]]:
    """Each file of the diff with its lines on the side the index holds (see the module docstring);
    ``blobs`` maps (``old``/``new``, path) to the sha256 of that side's content (commit ranges only)."""
    stored = indexed_hashes(store, repository, [p for f in diff_files for p in (f.old_path, f.new_path) if p])
    mapped: list[ChangedFile] = []
    notes: list[str] = []
    for diff_file in diff_files:
        old, new = diff_file.old_path, diff_file.new_path
        if side != "auto":
            chosen = side
            on_side = old if side == "old" else new
            status = "assumed" if on_side in stored else "not indexed"
        elif blobs is not None:
            held_new = new is not None and new in stored and stored[new] == blobs.get(("new", new))
            held_old = old is not None and old in stored and stored[old] == blobs.get(("old", old))
            chosen = "new" if held_new and not held_old else "old"
            if held_new or held_old:
                status = "indexed"
            elif (old if chosen == "old" else new) in stored:
                status = "stale"
            elif new in stored:
                chosen, status = "new", "stale"
            else:
                status = "not indexed"
        else:
            chosen = "new" if old not in stored and new in stored else "old"
            status = "assumed" if (old if chosen == "old" else new) in stored else "not indexed"
        lines = diff_file.old_lines if chosen == "old" else diff_file.new_lines
        changed = ChangedFile(old, new, chosen, status, line_ranges(lines))
        if status == "stale" and lines:
            notes.append(
                f"{changed.path}: the index holds neither side of the change (re-index it); "
                f"its lines are read as the {chosen} side's"
            )
        mapped.append(changed)
    return mapped, notes


def _changed_from_files(
    store: IndexStore, repository: str, files: Sequence[ChangedFile]
) -> list[tuple[ImpactNode, tuple[int, ...]]]:
    wanted = {f.path: f.lines for f in files if f.status != "not indexed" and f.lines}
    by_file = nodes_on_lines(store, repository, wanted)
    found: list[tuple[ImpactNode, tuple[int, ...]]] = []
    for path, ranges in sorted(wanted.items()):
        nodes = by_file.get(path, [])
        lines = [line for first, last in ranges for line in range(first, last + 1)]
        owners = innermost(nodes, lines)
        found.extend((node, owners[node.id]) for node in nodes if node.id in owners)
    return found


def _rank(node: ImpactNode, distance: int) -> tuple[int, float, str]:
    return (distance, -node.pagerank, node.symbol.qualified_name)


def _cut(items: Sequence[Any], limit: int) -> tuple[tuple[Any, ...], int]:
    return tuple(items[:limit]), max(len(items) - limit, 0)


def impact(
    store: IndexStore,
    repository: str,
    *,
    diff: str | None = None,
    commits: str | None = None,
    symbols: Sequence[str] = (),
    depth: int = DEFAULT_DEPTH,
    limit: int = DEFAULT_LIMIT,
    test_depth: int | None = None,
    side: str = "auto",
) -> Impact:
    """The impact of a change given as exactly one of ``diff`` (unified diff text), ``commits`` (a
    range ``A..B``, ``A...B`` or one commit, diffed by git in the repository's root) or ``symbols``
    (qualified names or unique tails of them): see the module docstring. Raises
    :class:`~mnemo_dagster.errors.GraphQueryError` (an unknown repository or symbol, a bad range, a bad
    argument) or :class:`~mnemo_dagster.errors.ConfigError` (the root is not a git checkout)."""
    given = [name for name, value in (("diff", diff), ("commits", commits)) if value is not None]
    given += ["symbols"] if symbols else []
    if len(given) != 1:
        raise GraphQueryError(
            "give exactly one of a diff, a commit range or symbol names "
            f"(got {' and '.join(given) or 'none'})"
        )
    if not 1 <= depth <= MAX_DEPTH:
        raise GraphQueryError(f"depth must be between 1 and {MAX_DEPTH}, not {depth}")
    test_depth = depth + TEST_DEPTH_EXTRA if test_depth is None else test_depth
    if not depth <= test_depth <= MAX_DEPTH + TEST_DEPTH_EXTRA:
        raise GraphQueryError(f"test depth must be between {depth} and {MAX_DEPTH + TEST_DEPTH_EXTRA}")
    if limit < 1:
        raise GraphQueryError(f"limit must be at least 1, not {limit}")
    if side not in SIDES:
        raise GraphQueryError(f"side must be one of {', '.join(SIDES)}, not {side!r}")
    row = repository_row(store, repository)
    files: list[ChangedFile] = []
    notes: list[str] = []
    seeds: list[tuple[ImpactNode, tuple[int, ...]]] = []
    if symbols:
        source, subject = "symbols", ", ".join(symbols)
        names = [graph_queries.resolve(store, name, repository).qualified_name for name in symbols]
        seeds = [(node, ()) for node in nodes_named(store, repository, names)]
    else:
        blobs: dict[tuple[str, str], str] | None = None
        if commits is not None:
            root = Path(row.root_path)
            prefix = checkout_prefix(root, repository)
            old, new = commit_range(root, commits)
            source, subject = "commits", f"{commits.strip()} ({old[:12]}..{new[:12]})"
            diff = git(
                root,
                "diff",
                "--relative",
                "-M",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "-U0",
                old,
                new,
            ).decode("utf-8", errors="replace")
        else:
            assert diff is not None
            source, subject = "diff", "diff text"
        diff_files = parse_diff(diff)
        if not diff_files and diff.strip() and commits is None:
            raise GraphQueryError("no file header (`+++ b/path`) in the diff text: is it `git diff` output?")
        if commits is not None:
            specs = {
                (which, path): f"{rev}:{prefix}{path}"
                for f in diff_files
                for which, path, rev in (("old", f.old_path, old), ("new", f.new_path, new))
                if path
            }
            hashes = blob_hashes(root, list(specs.values()))
            blobs = {key: hashes[spec] for key, spec in specs.items() if spec in hashes}
        files, notes = _map_files(store, repository, diff_files, side, blobs)
        seeds = _changed_from_files(store, repository, files)
        if not diff_files:
            notes.append("the change is empty: no file differs")
        skipped = sorted(f.path for f in files if f.status == "not indexed")
        if skipped:
            notes.append(f"{len(skipped)} changed file(s) not in the index: {', '.join(skipped[:10])}")
    walk = callers_walk(
        store, repository, [node for node, _ in seeds], depth=test_depth, max_nodes=MAX_WALKED
    )
    if walk.stopped:
        notes.append(f"the walk stopped after {MAX_WALKED} symbols; lower the depth for a complete answer")
    names = {node.id: node.symbol.qualified_name for node, _ in seeds}
    names.update((reached.node.id, reached.node.symbol.qualified_name) for reached in walk.reached)
    links = {reached.node.id: (reached.parent, reached.edge) for reached in walk.reached}
    callers: list[tuple[tuple[int, float, str], ImpactedSymbol]] = []
    tests: list[tuple[tuple[int, float, str], ImpactedSymbol]] = []
    for reached in walk.reached:
        node, at = reached.node, reached.node.id
        path, edges = [names[at]], []
        while at in links:
            at, edge = links[at]
            path.append(names[at])
            edges.append(edge)
        found = ImpactedSymbol(node.symbol, node.pagerank, reached.distance, tuple(path), tuple(edges))
        if is_test(node.symbol):
            tests.append((_rank(node, reached.distance), found))
        elif reached.distance <= depth:
            callers.append((_rank(node, reached.distance), found))
    changed = sorted(
        (ChangedSymbol(node.symbol, node.pagerank, line_ranges(lines)) for node, lines in seeds),
        key=lambda c: (c.symbol.file_path, c.symbol.start_line, c.symbol.qualified_name),
    )
    kept_files, cut_files = _cut(files, limit)
    kept_changed, cut_changed = _cut(changed, limit)
    kept_callers, cut_callers = _cut([c for _, c in sorted(callers, key=lambda pair: pair[0])], limit)
    kept_tests, cut_tests = _cut([t for _, t in sorted(tests, key=lambda pair: pair[0])], limit)
    return Impact(
        repository=repository,
        source=source,
        subject=subject,
        depth=depth,
        test_depth=test_depth,
        files=kept_files,
        changed=kept_changed,
        callers=kept_callers,
        tests=kept_tests,
        cut={"files": cut_files, "changed": cut_changed, "callers": cut_callers, "tests": cut_tests},
        notes=tuple(notes),
    )


def repository_at(store: IndexStore, directory: Path) -> str:
    """The indexed repository to ask about from ``directory``: the only one, else the one whose root
    holds ``directory`` (the deepest such root); raises :class:`GraphQueryError` naming the known ones."""
    roots = repository_roots(store)
    if len(roots) == 1:
        return next(iter(roots))
    here = Path(os.path.realpath(directory))
    holding = [
        (len(Path(root).parts), name)
        for name, root in roots.items()
        if here == Path(os.path.realpath(root)) or Path(os.path.realpath(root)) in here.parents
    ]
    if holding:
        return max(holding)[1]
    raise GraphQueryError(
        "give a repository: the current directory is in none of the indexed ones "
        f"(known: {', '.join(sorted(roots)) or 'none; run `mnemo index PATH`'})"
    )
