"""Warm search latency of :class:`mnemo_dagster.Index` on an index of 150k chunks.

    python benchmarks/search_benchmark.py --home DIR [--rows 150000] [--queries 300] [--keep]

``DIR`` is a MNEMO_HOME whose index holds a few real packages (``benchmarks/search_eval.py prepare``
makes one). Embedding 150k chunks on a small CPU takes hours, so the rest of the index is synthesised
in SQL: copies of the real rows under ``copyN/`` paths, with edited names (``name_N``) and vectors
perturbed by uniform noise and normalised again, in a repository named ``synthetic``. The lexical
index (a generated column) and the HNSW index are computed by PostgreSQL as for real rows.

It then times, after a warm-up, docstring queries, bare identifiers and paths (``search_eval``'s cases
when present), over the whole index and restricted to one repository, and prints the index size it
used with p50/p95/p99 per kind. ``synthetic`` is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SYNTHETIC = "synthetic"
NOISE = 0.08
"""Half-width of the uniform noise added to each coordinate before normalising (cosine ~0.7 to the
original: near copies, but not duplicates the HNSW graph collapses)."""
WARMUP = 20

_COPY_FILES = sa.text(
    """
    INSERT INTO source_files (repository, path, language, size_bytes, mtime_ns, content_hash, status)
    SELECT :synthetic, 'copy' || g || '/' || f.repository || '/' || f.path, f.language, f.size_bytes,
           f.mtime_ns, f.content_hash, 'indexed'
    FROM source_files f, generate_series(1, CAST(:copies AS integer)) AS g
    WHERE f.repository <> :synthetic AND f.status = 'indexed'
    """
)
_COPY_CHUNKS = sa.text(
    """
    INSERT INTO code_chunks (repository, file_path, language, kind, name, qualified_name, start_line,
                             end_line, content, content_hash, embedding, metadata)
    SELECT :synthetic, 'copy' || g || '/' || c.repository || '/' || c.file_path, c.language, c.kind,
           CASE WHEN c.name IS NULL THEN NULL ELSE c.name || '_' || g END,
           'copy' || g || '/' || c.repository || '/' || c.qualified_name
               || CASE WHEN c.name IS NULL THEN '' ELSE '_' || g END,
           c.start_line, c.end_line, c.content, c.content_hash || ':' || g,
           l2_normalize(c.embedding + (
               SELECT array_agg((random() - 0.5) * 2 * CAST(:noise AS float8))::vector
               FROM generate_series(1, vector_dims(c.embedding))
           )),
           c.metadata
    FROM code_chunks c, generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
    WHERE c.repository <> :synthetic
    """
)


def synthesise(store: Any, rows: int) -> int:
    """Fill the index up to ``rows`` chunks with synthetic copies (or reuse those a ``--keep`` run
    left); return the total."""
    with store.begin() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM code_chunks")).scalar_one()
        if total >= rows:
            return int(total)
        conn.execute(sa.text("DELETE FROM repositories WHERE name = :n"), {"n": SYNTHETIC})
        real = conn.execute(sa.text("SELECT count(*) FROM code_chunks")).scalar_one()
    copies = max(0, -(-(rows - real) // max(real, 1)))
    if copies == 0:
        return int(real)
    store.files.register(SYNTHETIC, "/synthetic")
    store.chunks.drop_vector_index()  # inserts into HNSW are ~45x slower: build it after
    with store.begin() as conn:
        conn.execute(_COPY_FILES, {"synthetic": SYNTHETIC, "copies": copies})
    step = 10
    for first in range(1, copies + 1, step):
        started = time.perf_counter()
        last = min(first + step - 1, copies)
        params = {"synthetic": SYNTHETIC, "noise": NOISE, "first": first, "last": last}
        with store.begin() as conn:
            conn.execute(_COPY_CHUNKS, params)
        print(f"  copies {first}-{last} of {copies}: {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    store.chunks.ensure_vector_index()
    with store.begin() as conn:
        conn.execute(sa.text("ANALYZE code_chunks"))
        total = conn.execute(sa.text("SELECT count(*) FROM code_chunks")).scalar_one()
    print(f"  HNSW index built in {time.perf_counter() - started:.1f} s", flush=True)
    return int(total)


def _queries(home: Path, count: int) -> dict[str, list[tuple[str, str | None]]]:
    """(query, repository filter) per kind, from search_eval's cases."""
    cases = json.loads((home / "cases.json").read_text()) if (home / "cases.json").exists() else []
    rng = random.Random(3)
    rng.shuffle(cases)
    docs = [c for c in cases if c["kind"] == "docstring"][:count]
    names = [c for c in cases if c["kind"] == "identifier"][:count]
    paths = sorted({(c["file_path"], c["repository"]) for c in cases})[:count]
    return {
        "docstring, whole index": [(c["query"], None) for c in docs],
        "docstring, one repository": [(c["query"], c["repository"]) for c in docs],
        "identifier, whole index": [(c["query"], None) for c in names],
        "path, whole index": [(path, None) for path, _ in paths],
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(index: Any, queries: dict[str, list[tuple[str, str | None]]]) -> dict[str, dict[str, float]]:
    every = [q for group in queries.values() for q in group]
    for text, repository in every[:WARMUP]:
        index.search(text, repository, 10)
    report: dict[str, dict[str, float]] = {}
    all_ms: list[float] = []
    for kind, group in queries.items():
        times = []
        for text, repository in group:
            started = time.perf_counter()
            index.search(text, repository, 10)
            times.append((time.perf_counter() - started) * 1000)
        all_ms += times
        report[kind] = _stats(times)
    report["all"] = _stats(all_ms)
    return report


def _stats(times: list[float]) -> dict[str, float]:
    if not times:
        return {"n": 0}
    return {
        "n": len(times),
        "p50_ms": statistics.median(times),
        "p95_ms": _percentile(times, 0.95),
        "p99_ms": _percentile(times, 0.99),
    }


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--home", type=Path, required=True, help="MNEMO_HOME holding real indexed packages")
    parser.add_argument("--rows", type=int, default=150_000, help="index size to reach (chunks)")
    parser.add_argument("--queries", type=int, default=150, help="queries per kind")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic rows afterwards")
    args = parser.parse_args()
    os.environ["MNEMO_HOME"] = str(args.home.resolve())
    os.environ.pop("MNEMO_DATABASE_URL", None)

    from mnemo_dagster.retrieval.index import Index

    with Index() as index:
        print(f"synthesising up to {args.rows} chunks ...", flush=True)
        total = synthesise(index.store, args.rows)
        print(f"index size: {total} chunks", flush=True)
        index.warm()
        try:
            report = measure(index, _queries(args.home, args.queries))
        finally:
            if not args.keep:
                with index.store.begin() as conn:
                    conn.execute(sa.text("DELETE FROM repositories WHERE name = :n"), {"n": SYNTHETIC})
    for kind, stats in report.items():
        cells = " ".join(f"{k} {v:.1f}" if k != "n" else f"n {int(v)}" for k, v in stats.items())
        print(f"{kind:<28} {cells}")
    print(f"warm p95 over all queries: {report['all']['p95_ms']:.1f} ms at {total} chunks")


if __name__ == "__main__":
    main()
