"""Real third-party files, one per language with symbols, copied unmodified from published packages
(provenance and licenses in ``fixtures/thirdparty/SOURCES.md``): each parses without a syntax
warning into named symbols, chunks that cover it, and resolved calls; together they index end to end
through ``mnemo index`` without a failed file.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import language_for
from mnemo_dagster.graph import FileSymbols, build_graph
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.schema import graph_edges, graph_nodes
from mnemo_dagster_tests.extract.test_languages import QUERY_LANGUAGES
from mnemo_dagster_tests.test_end_to_end import mnemo

THIRDPARTY = Path(__file__).parents[1] / "fixtures" / "thirdparty"
SOURCES = THIRDPARTY / "SOURCES.md"
_ROW = re.compile(r"^\| (?P<language>[^|]+) \| `(?P<file>[^`]+)` \|.*\| `(?P<sha256>[0-9a-f]{64})` \|$")


def _provenance() -> dict[str, str]:
    """File name -> sha256, from the table in SOURCES.md."""
    rows = (_ROW.match(line) for line in SOURCES.read_text(encoding="utf-8").splitlines())
    return {row["file"]: row["sha256"] for row in rows if row}


FILES = sorted(_provenance())


def test_one_unmodified_file_per_language_with_symbols() -> None:
    on_disk = {p.name for p in THIRDPARTY.iterdir()} - {SOURCES.name}
    assert on_disk == set(FILES)
    for name, sha256 in _provenance().items():
        assert hashlib.sha256((THIRDPARTY / name).read_bytes()).hexdigest() == sha256, name
    languages = {spec.name for spec in map(language_for, FILES) if spec is not None}
    assert languages == set(QUERY_LANGUAGES)


@pytest.mark.parametrize("name", FILES)
def test_thirdparty_file_parses_into_symbols_chunks_and_calls(name: str) -> None:
    spec = language_for(name)
    assert spec is not None and spec.has_queries
    data = (THIRDPARTY / name).read_bytes()
    parsed = parse_file(name, data, spec.name)

    assert parsed.warnings == ()
    assert len(parsed.symbols) >= 4
    assert all(s.name == s.name.strip() and s.name for s in parsed.symbols)
    lines = data.decode().splitlines()
    covered = {line for c in parsed.chunks for line in range(c.start_line, c.end_line + 1)}
    assert {i for i, line in enumerate(lines, 1) if line.strip()} <= covered
    for chunk in parsed.chunks:
        assert chunk.content == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
    for symbol in parsed.symbols:  # a symbol starts on a line that holds its text
        assert lines[symbol.start_line - 1].strip(), (symbol.path, symbol.start_line)
    graph = build_graph([FileSymbols(parsed.path, parsed.language, parsed.symbols, parsed.references)])
    assert {e.kind for e in graph.edges} >= {"contains", "calls"}


@pytest.mark.slow
def test_thirdparty_files_index_end_to_end(
    tmp_path: Path, mnemo_home: Path, default_store: IndexStore
) -> None:
    tree = tmp_path / "thirdparty"
    shutil.copytree(THIRDPARTY, tree)
    summary = json.loads(mnemo("index", str(tree), "--name", "thirdparty", "--json").stdout)
    assert summary["ok"] is True and summary["errors"] == {}
    assert summary["files"]["indexed"] == len(FILES) + 1  # and SOURCES.md
    assert summary["files"]["failed"] == 0 and summary["batches"]["failed"] == 0

    source = graph_nodes.alias("source")
    query = (
        sa.select(graph_edges.c.kind, source.c.file_path)
        .join(source, source.c.id == graph_edges.c.source_id)
        .where(graph_edges.c.repository == "thirdparty")
        .distinct()
    )
    with default_store.begin() as conn:
        edges = set(conn.execute(query).all())
    for name in FILES:  # every file's module contains its symbols, and its calls resolve
        assert {("contains", name), ("calls", name)} <= edges, name
