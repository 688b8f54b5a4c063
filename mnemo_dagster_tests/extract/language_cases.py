"""Shared checks for the per-language graph tests: parse a fixture folder, build its graph."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import language_for
from mnemo_dagster.graph import CodeGraph, FileSymbols, build_graph
from mnemo_dagster.models import ParsedFile

FIXTURES = Path(__file__).parents[1] / "fixtures" / "languages"


@dataclass(frozen=True)
class Case:
    """What one language's fixture folder must yield (``max_chunk_chars=600``)."""

    language: str
    folder: str
    chunks: list[tuple[str, str, str]]
    """(file, chunk kind, symbol path) of every chunk that names a symbol, in file and line order."""
    edges: set[tuple[str, str, str]]
    """(kind, source, target) of every edge of the graph, qualified names as stored."""
    also: tuple[str, ...] = ()
    """Other languages the folder holds (C headers next to Objective-C)."""


def parse_folder(folder: str) -> dict[str, ParsedFile]:
    """Every file under ``fixtures/languages/<folder>``, parsed, keyed by its path in that folder."""
    root = FIXTURES / folder
    parsed: dict[str, ParsedFile] = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        path = file.relative_to(root).as_posix()
        spec = language_for(path)
        assert spec is not None, path
        parsed[path] = parse_file(path, file.read_bytes(), spec.name, max_chunk_chars=600)
    return parsed


def graph_of(parsed: dict[str, ParsedFile]) -> CodeGraph:
    """The graph of the parsed files, built as the indexer builds it."""
    return build_graph(FileSymbols(p.path, p.language, p.symbols, p.references) for p in parsed.values())


def check_case(case: Case) -> None:
    """The case's files parse cleanly in its language, with exactly the expected chunks and edges."""
    parsed = parse_folder(case.folder)
    assert {p.language for p in parsed.values()} == {case.language, *case.also}
    assert all(p.warnings == () for p in parsed.values()), {p.path: p.warnings for p in parsed.values()}
    chunks = [(p.path, c.kind, c.symbol_path) for p in parsed.values() for c in p.chunks if c.symbol_path]
    assert chunks == case.chunks
    edges = {(e.kind, e.source, e.target) for e in graph_of(parsed).edges}
    assert edges == case.edges, (sorted(case.edges - edges), sorted(edges - case.edges))
