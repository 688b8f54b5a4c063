"""Flow facts of a file, extracted at index time and stored with its chunks for the graph to solve.

The chunker keeps only names of calls; a call graph that can be trusted needs to know what a name
holds (``handler = registry["save"]; handler()``), which takes the syntax tree. Parsing every file
again when the graph is built would cost more than the whole graph build, so the facts are taken from
the tree the chunker parses when a file is indexed (:attr:`ParsedFile.flow`) and stored as JSON in the
metadata of the file's first chunk (``"flow"``):

- Python: the module's facts (:mod:`.pyfacts`) solved on their own (:mod:`.pyflow`) into a summary
  that :mod:`.pylink` links across modules when the graph is built;
- JavaScript/TypeScript: how each call's callee is written (:mod:`.jsflow`).

A file indexed before facts existed has none; its calls resolve by name as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mnemo_dagster.graph.jsflow import js_facts
from mnemo_dagster.graph.modules import language_family
from mnemo_dagster.graph.pyfacts import python_facts
from mnemo_dagster.graph.pyflow import SUMMARY_VERSION
from mnemo_dagster.graph.pysummary import summarize
from mnemo_dagster.graph.records import FileSymbols
from mnemo_dagster.models import Chunk, Reference, Symbol

if TYPE_CHECKING:
    from tree_sitter import Node

FLOW_KEY = "flow"
"""The key of the facts in a chunk's metadata."""


def source_text(chunks: Iterable[Chunk]) -> str:
    """A file's text from its chunks: they never overlap, gaps are blank lines, and pieces of one
    long line share its ``start_line``."""
    lines: list[str] = []
    last_start = 0
    for chunk in sorted(chunks, key=lambda c: c.start_line):
        if chunk.start_line == last_start and chunk.start_line == chunk.end_line and lines:
            lines[-1] += chunk.content
            continue
        lines.extend([""] * (chunk.start_line - 1 - len(lines)))
        lines.extend(chunk.content.split("\n"))
        last_start = chunk.start_line
    return "\n".join(lines)


def with_lambdas(record: FileSymbols) -> FileSymbols:
    """``record`` with the lambdas of its Python summary among its definitions (kind ``lambda``, named
    by their place: ``<lambda:12:8>``), so calls into and out of them are edges of their own."""
    if not has_python_summary(record.flow):
        return record
    lambdas = record.flow["python"].get("lambdas")  # type: ignore[index]
    if not lambdas:
        return record
    found = tuple(
        Symbol(scope.rpartition(".")[2], scope, "lambda", lines[0], lines[1])
        for scope, lines in sorted(lambdas.items(), key=lambda item: item[1])
    )
    return replace(record, symbols=record.symbols + found)


def outline(record: FileSymbols) -> dict[str, Any]:
    """What resolving the references of other files needs of ``record`` (:func:`from_outline`): its
    definitions, its imports, and its flow facts without its own calls; a tenth of its chunks'
    metadata, so an incremental refresh reads the files a change reaches cheaply."""
    flow = record.flow or {}
    python = flow.get("python")
    kept: dict[str, Any] = {}
    if isinstance(python, dict):
        kept["python"] = {key: value for key, value in python.items() if key != "calls"}
    if isinstance(flow.get("js"), dict) and "default" in flow["js"]:
        kept["js"] = {"default": flow["js"]["default"]}
    return {
        "language": record.language,
        "symbols": [[s.name, s.path, s.kind, s.start_line, s.end_line] for s in record.symbols],
        "imports": [
            [r.name, r.source, r.line, r.module, r.alias] for r in record.references if r.kind == "imports"
        ],
        "flow": kept or None,
    }


def from_outline(path: str, data: dict[str, Any]) -> FileSymbols:
    """The record of a file as its :func:`outline` keeps it (no calls, no base-class references)."""
    return FileSymbols(
        path,
        data["language"],
        tuple(Symbol(*fields) for fields in data["symbols"]),
        tuple(Reference("imports", *fields) for fields in data["imports"]),
        data["flow"],
    )


def has_python_summary(flow: dict[str, Any] | None) -> bool:
    """Whether stored facts hold a Python summary this version reads (else calls resolve by name)."""
    summary = (flow or {}).get("python")
    return isinstance(summary, dict) and summary.get("v") == SUMMARY_VERSION


def flow_facts(language: str, root: Node) -> dict[str, Any] | None:
    """The flow facts of a file of ``language`` from its syntax tree, or None for languages without a
    flow analysis."""
    family = language_family(language)
    if family not in ("python", "js"):
        return None
    # The analysis builds many small lists and sets and frees them at once: the cyclic collector,
    # triggered by their number, would only walk them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return {"python": summarize(python_facts(root))} if family == "python" else {"js": js_facts(root)}
    except RecursionError:
        # Expressions nested thousands deep (generated code): the file keeps name-only resolution.
        return None
    finally:
        if collecting:
            gc.enable()
