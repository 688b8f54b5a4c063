"""Index one batch of files: read, parse, chunk, embed (reusing known embeddings) and write.

This is all the ``code_chunks`` asset does. A problem with one file (gone, binary, not UTF-8) is
recorded on that file and never fails the batch; a problem with the database or the model raises,
so the step is retried, and because each file's rows are replaced in one transaction a retry never
duplicates or half-writes anything.
"""

from __future__ import annotations

import bisect
import hashlib
import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mnemo_dagster.config import settings
from mnemo_dagster.config.defaults import DEFAULT_MAX_FILE_BYTES
from mnemo_dagster.embedding import Embedder
from mnemo_dagster.errors import FileError, StoreError
from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import language_for
from mnemo_dagster.graph.facts import FLOW_KEY
from mnemo_dagster.indexing.batching import split_batch_key
from mnemo_dagster.indexing.discovery import content_hash, content_skip_reason
from mnemo_dagster.indexing.heartbeat import ENCODING, LOADING, PARSING, WRITING, Heartbeat
from mnemo_dagster.indexing.pipeline import ReadAhead, WriteBehind
from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.models import ParsedFile, qualified_name
from mnemo_dagster.store.chunks import ChunkRow
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.files import StoredFile


def embedding_text(path: str, symbol_path: str | None, content: str) -> str:
    """What the model sees for a chunk: where it is, then its code."""
    return f"{qualified_name(path, symbol_path)}\n{content}"


def chunk_metadata(parsed: ParsedFile) -> list[dict[str, Any]]:
    """Per chunk, the symbols defined and the references made inside it (by line)."""
    if not parsed.chunks:
        return []
    starts = [chunk.start_line for chunk in parsed.chunks]
    per_chunk: list[dict[str, Any]] = [{"symbols": [], "references": []} for _ in parsed.chunks]

    def owner(line: int) -> int:
        return max(bisect.bisect_right(starts, line) - 1, 0)

    for symbol in parsed.symbols:
        per_chunk[owner(symbol.start_line)]["symbols"].append(
            {
                "name": symbol.name,
                "path": symbol.path,
                "kind": symbol.kind,
                "start_line": symbol.start_line,
                "end_line": symbol.end_line,
            }
        )
    for ref in parsed.references:
        entry: dict[str, Any] = {"kind": ref.kind, "name": ref.name, "source": ref.source, "line": ref.line}
        if ref.module is not None:
            entry["module"] = ref.module
        if ref.alias is not None:
            entry["alias"] = ref.alias
        per_chunk[owner(ref.line)]["references"].append(entry)
    if parsed.flow is not None:  # the call graph's flow analysis needs more than names (graph/facts.py)
        per_chunk[0][FLOW_KEY] = parsed.flow
    return per_chunk


def _needs_work(root: Path, stored: StoredFile) -> bool:
    if stored.status in ("pending", "failed") or stored.indexed_hash != stored.content_hash:
        return True
    if stored.status == "skipped":
        return False
    try:
        stat = (root / stored.path).stat()
    except OSError:
        return True
    return (stat.st_size, stat.st_mtime_ns) != (stored.size_bytes, stored.mtime_ns)


def index_batch(
    store: IndexStore,
    embedder: Embedder,
    key: str,
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    parse_processes: int | None = None,
    log: Callable[[str], None] = lambda message: None,
    heartbeat: Heartbeat | None = None,
) -> BatchReport:
    """Index the files of batch ``key``; return counts for the run's metadata.

    Reading and parsing, encoding and writing overlap (:mod:`~mnemo_dagster.indexing.pipeline`); files are
    read in the order of the batch and each is written in its own transaction once all its chunks
    have vectors. The files are read and parsed in ``parse_processes`` forked processes, or in a
    thread with 0 (default: :func:`~mnemo_dagster.config.settings.parse_processes` for the model's device).
    Every file parsed or written and every slice encoded is a beat of ``heartbeat``.
    """
    started = time.perf_counter()
    repository, _ = split_batch_key(key)
    root_path = store.files.root(repository)
    if root_path is None:
        raise StoreError(f"batch {key}: repository {repository!r} is not registered")
    report = BatchReport(key)
    stored = store.files.stored(repository, batch_key=key)
    root = Path(root_path)
    todo = [path for path in sorted(stored) if _needs_work(root, stored[path])]
    report.files_unchanged = len(stored) - len(todo)
    work = partial(_read_and_parse, root, max_file_bytes=max_file_bytes)
    if parse_processes is None:
        configured = settings.Settings.from_env().parse_processes
        parse_processes = settings.parse_processes(embedder.target_device(), configured=configured)
    beat = heartbeat or Heartbeat(None, key)
    beat.files_total = len(todo)
    counting = threading.Lock()
    with (
        ReadAhead(
            todo,
            work,
            size=_chunk_count,
            processes=parse_processes,
            track=lambda path: beat.doing(PARSING, path, files_parsed=1),
        ) as reader,
        WriteBehind(threads=max(1, parse_processes)) as writer,
    ):
        if todo:  # the reader reads and parses meanwhile
            loading = time.perf_counter()
            report.model_preloaded = embedder.loaded
            with beat.doing(LOADING):
                embedder.load()  # a broken model fails the batch before any file is written
            report.load_seconds = time.perf_counter() - loading
        for group in reader:
            parsed = _parsed_only(store, repository, group, writer, report, beat)
            if parsed:
                hashes, vectors = _embed(store, embedder, parsed, report, beat)
                writer.submit_all(
                    _file_writes(store, repository, parsed, hashes, vectors, report, counting, beat)
                )
    report.parse_seconds, report.write_seconds = reader.seconds, writer.seconds
    log(
        f"{key}: {report.files_indexed} files indexed, {report.files_unchanged} unchanged, "
        f"{len(report.failures)} not indexable"
    )
    report.seconds = time.perf_counter() - started
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _parsed_only(
    store: IndexStore,
    repository: str,
    group: list[tuple[str, tuple[ParsedFile, str] | NotIndexed]],
    writer: WriteBehind,
    report: BatchReport,
    beat: Heartbeat,
) -> list[tuple[ParsedFile, str]]:
    """The parsed files of ``group``; a file that cannot be indexed goes straight to the writer, to be
    recorded."""
    parsed = []
    for path, outcome in group:
        if isinstance(outcome, NotIndexed):
            writer.submit(partial(_mark, store, repository, path, outcome, report, beat))
        else:
            parsed.append(outcome)
    return parsed


def _chunk_count(read: tuple[str, tuple[ParsedFile, str] | NotIndexed]) -> int:
    outcome = read[1]
    return 0 if isinstance(outcome, NotIndexed) else len(outcome[0].chunks)


def _mark(
    store: IndexStore, repository: str, path: str, outcome: NotIndexed, report: BatchReport, beat: Heartbeat
) -> None:
    """Record why ``path`` cannot be indexed (removing any chunks it had)."""
    with beat.doing(WRITING, path, files_done=1):
        store.chunks.mark_file(repository, path, outcome.status, outcome.reason)
    report.failures.append((path, outcome.reason))
    if outcome.status == "failed":
        report.files_failed += 1
    else:
        report.files_skipped += 1


def _embed(
    store: IndexStore,
    embedder: Embedder,
    parsed: list[tuple[ParsedFile, str]],
    report: BatchReport,
    beat: Heartbeat,
) -> tuple[list[str], list[Any]]:
    """Content hashes and vectors of every chunk, in order; known texts reuse their stored vector."""
    texts = [
        embedding_text(pf.path, chunk.symbol_path, chunk.content) for pf, _ in parsed for chunk in pf.chunks
    ]
    hashes = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
    what = parsed[0][0].path + (f" (+{len(parsed) - 1} files)" if len(parsed) > 1 else "")
    with beat.doing(ENCODING, what):
        known = store.chunks.reusable_embeddings(hashes)
        todo = [i for i, h in enumerate(hashes) if h not in known]
        encode_started = time.perf_counter()
        fresh = embedder.encode(
            [texts[i] for i in todo], on_progress=lambda done: beat.progress(chunks_encoded=done)
        )
        report.encode_seconds += time.perf_counter() - encode_started
    vectors: list[Any] = [known.get(h) for h in hashes]
    for row, i in enumerate(todo):
        vectors[i] = fresh[row]
    report.embeddings_computed += len(todo)
    report.embeddings_reused += len(hashes) - len(todo)
    return hashes, vectors


def _file_writes(
    store: IndexStore,
    repository: str,
    parsed: list[tuple[ParsedFile, str]],
    hashes: list[str],
    vectors: list[Any],
    report: BatchReport,
    counting: threading.Lock,
    beat: Heartbeat,
) -> list[Callable[[], None]]:
    """One write per file, each replacing the file's rows in one transaction."""
    writes = []
    position = 0
    for pf, file_hash in parsed:
        end = position + len(pf.chunks)
        writes.append(
            partial(
                _write_file,
                store,
                repository,
                pf,
                file_hash,
                hashes[position:end],
                vectors[position:end],
                report,
                counting,
                beat,
            )
        )
        position = end
    return writes


def chunk_rows(pf: ParsedFile, hashes: Sequence[str], vectors: Sequence[Any]) -> list[ChunkRow]:
    """The rows a file's chunks are stored as: each with its content hash and vector, and the symbols
    and references made inside it (:func:`chunk_metadata`)."""
    return [
        ChunkRow(
            kind=chunk.kind,
            name=chunk.name,
            qualified_name=qualified_name(pf.path, chunk.symbol_path),
            start_line=chunk.start_line,
            end_line=chunk.end_line,
            content=chunk.content,
            content_hash=content_hash,
            embedding=vector,
            metadata=meta,
        )
        for chunk, meta, content_hash, vector in zip(
            pf.chunks, chunk_metadata(pf), hashes, vectors, strict=True
        )
    ]


def _write_file(
    store: IndexStore,
    repository: str,
    pf: ParsedFile,
    file_hash: str,
    hashes: list[str],
    vectors: list[Any],
    report: BatchReport,
    counting: threading.Lock,
    beat: Heartbeat,
) -> None:
    rows = chunk_rows(pf, hashes, vectors)
    warning = "; ".join(pf.warnings) or None
    with beat.doing(WRITING, pf.path, files_done=1):
        store.chunks.write_file(
            repository, pf.path, language=pf.language, content_hash=file_hash, chunks=rows, warning=warning
        )
    with counting:  # files of a group may be written side by side
        if warning:
            report.warnings.append((pf.path, warning))
        report.files_indexed += 1
        report.chunks += len(rows)


@dataclass(frozen=True, slots=True)
class NotIndexed:
    """Why a file was not indexed: status ``failed`` or ``skipped`` and a reason in plain words."""

    status: str
    reason: str


def _read_and_parse(root: Path, path: str, max_file_bytes: int) -> tuple[ParsedFile, str] | NotIndexed:
    """The parsed file and its hash, or why it cannot be indexed."""
    spec = language_for(path)
    if spec is None:
        return NotIndexed("skipped", "not a recognised source file type")
    try:
        data = (root / path).read_bytes()
    except FileNotFoundError:
        return NotIndexed("failed", "file vanished after the scan (deleted or moved)")
    except OSError as exc:
        return NotIndexed("failed", f"could not read the file: {exc.strerror or exc}")
    reason = content_skip_reason(data, max_file_bytes)
    if reason:
        return NotIndexed("skipped", reason)
    try:
        return parse_file(path, data, spec.name), content_hash(data)
    except FileError as exc:
        return NotIndexed("failed", exc.detail)
    except (RecursionError, ValueError) as exc:
        return NotIndexed("failed", f"{spec.name} parser failed: {exc}")
