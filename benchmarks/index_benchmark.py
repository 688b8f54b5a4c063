"""Benchmark a full indexing pass end to end, against the raw model's encode speed on the same chunks.

    python benchmarks/index_benchmark.py PATH [--name NAME] [--home DIR] [--edit]

Runs the same path as ``mnemo index`` (scan, plan, one Dagster run per batch with the multiprocess
executor, then the graph run) in a fresh MNEMO_HOME, then embeds the very same chunk texts with the
model alone, and prints files/min, chunks/s, the steps' peak RSS and the ratio of the two speeds.
With ``--edit`` it then edits one function-sized chunk, re-indexes, and reports that pass's time as a
fraction of the full pass.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--name", default="bench")
    parser.add_argument("--home", type=Path, help="MNEMO_HOME to use (default: a new temporary directory)")
    parser.add_argument("--sample", type=int, default=2000, help="chunks to time the raw model on")
    parser.add_argument("--edit", action="store_true", help="then edit one function and time the re-index")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="mnemo-bench-"))
    if args.edit:  # never edit the caller's tree: work on a copy
        copy = home / "src" / args.path.resolve().name
        shutil.copytree(args.path, copy, symlinks=True)
        args.path = copy
    os.environ["MNEMO_HOME"] = str(home)
    os.environ.pop("MNEMO_DATABASE_URL", None)
    os.environ.pop("DAGSTER_HOME", None)

    from dagster import DagsterInstance

    from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
    from mnemo_dagster.core.indexing import embedding_text
    from mnemo_dagster.core.planning import plan_pass
    from mnemo_dagster.core.settings import Settings
    from mnemo_dagster.core.store.database import IndexStore, status_report
    from mnemo_dagster.core.store.server import resolve_urls
    from mnemo_dagster.defs.launch import (
        prepare_dagster_home,
        run_batches,
        run_graph,
        sync_partitions,
        warm_step_server,
    )

    settings = Settings.from_env()
    urls = resolve_urls(settings)
    store = IndexStore(urls.index)
    embedder = SentenceTransformerEmbedder(settings.embedding_model, dtype=settings.embedding_dtype)
    store.ensure_schema(embedder.model_name, embedder.dimension)
    prepare_dagster_home(settings.home, urls.dagster)
    warm_step_server()

    def index_pass() -> tuple[float, float, list, object]:
        started = time.perf_counter()
        plan = plan_pass(
            store,
            args.name,
            args.path,
            max_file_bytes=settings.max_file_bytes,
            batch_bytes=settings.batch_bytes,
        )
        with DagsterInstance.get() as instance:
            sync_partitions(instance, plan.batches, plan.removed)
            batches_started = time.perf_counter()
            outcomes = run_batches(instance, args.name, plan.to_run)
            batches_seconds = time.perf_counter() - batches_started
            graph = run_graph(instance, [args.name])
        return time.perf_counter() - started, batches_seconds, outcomes, graph

    store.chunks.drop_vector_index()
    total_seconds, batches_seconds, outcomes, graph = index_pass()
    report = status_report(store, args.name)
    metas = [o.metadata.get("code_chunks", {}) for o in outcomes]
    chunks = sum(int(m.get("chunks", 0)) for m in metas)
    embedded = sum(int(m.get("embeddings_computed", 0)) for m in metas)
    encode_seconds = sum(float(m.get("encode_seconds", 0.0)) for m in metas)
    peaks = [float(m.get("peak_rss_mb", 0.0)) for m in metas]

    import sqlalchemy as sa

    from mnemo_dagster.core.store.schema import code_chunks

    with store.begin() as conn:
        rows = conn.execute(
            sa.select(code_chunks.c.file_path, code_chunks.c.qualified_name, code_chunks.c.content)
            .where(code_chunks.c.repository == args.name)
            .order_by(sa.func.random())
            .limit(args.sample)
        ).all()
    texts = [
        embedding_text(path, qn.split("::", 1)[1] if "::" in qn else None, content)
        for path, qn, content in rows
    ]
    embedder.encode(texts[:32])  # warm-up
    raw_started = time.perf_counter()
    embedder.encode(texts)
    raw_rate = len(texts) / (time.perf_counter() - raw_started)

    files = report["files"]
    e2e_rate = chunks / batches_seconds if batches_seconds else 0.0
    print(
        f"repository          {args.path} ({files['indexed']} indexed, {files['failed']} failed, "
        f"{files['skipped']} skipped)"
    )
    print(
        f"batches             {len(outcomes)} run, {sum(not o.success for o in outcomes)} failed; "
        f"graph run {'ok' if graph.success else 'FAILED'}"
    )
    print(f"chunks              {chunks} ({embedded} embedded)")
    print(
        f"pass seconds        {total_seconds:.1f} "
        f"(batches {batches_seconds:.1f}, encode {encode_seconds:.1f})"
    )
    print(f"files/min           {files['indexed'] / total_seconds * 60:.0f}")
    print(f"chunks/s            {e2e_rate:.1f} (batches only), {chunks / total_seconds:.1f} (whole pass)")
    print(f"raw encode chunks/s {raw_rate:.1f} ({embedder.dtype}, {len(texts)} of the same chunks)")
    print(
        f"ratio e2e/raw       {e2e_rate / raw_rate:.2f} (batches only), "
        f"{chunks / total_seconds / raw_rate:.2f} (whole pass)"
    )
    if peaks:
        print(f"step peak RSS MB    max {max(peaks):.0f}, first {peaks[0]:.0f}, last {peaks[-1]:.0f}")
    print(f"graph               {report['nodes']} nodes, {report['edges']} edges")
    if args.edit:
        edited = _edit_one_function(store, args.name, args.path)
        edit_seconds, _, edit_outcomes, _ = index_pass()
        edit_metas = [o.metadata.get("code_chunks", {}) for o in edit_outcomes]
        print(
            f"edit pass           {edited}: {edit_seconds:.1f} s = "
            f"{edit_seconds / total_seconds:.1%} of the full "
            f"pass; {len(edit_outcomes)} batch(es) run, "
            f"{sum(int(m.get('embeddings_computed', 0)) for m in edit_metas)} chunk(s) re-embedded, "
            f"{sum(int(m.get('embeddings_reused', 0)) for m in edit_metas)} reused"
        )
    store.dispose()


def _edit_one_function(store: object, repository: str, root: Path) -> str:
    """Add a comment line inside one Python function of the (copied) tree; return the function's name."""
    import sqlalchemy as sa

    from mnemo_dagster.core.store.schema import code_chunks

    with store.begin() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            sa.select(code_chunks.c.file_path, code_chunks.c.qualified_name, code_chunks.c.start_line)
            .where(
                code_chunks.c.repository == repository,
                code_chunks.c.kind == "function",
                code_chunks.c.language == "python",
            )
            .order_by(code_chunks.c.file_path, code_chunks.c.start_line)
            .limit(1)
        ).all()
    path, qualified_name, start_line = rows[0]
    lines = (root / path).read_text().splitlines(keepends=True)
    lines.insert(start_line, "# edited by the benchmark\n")  # a comment is legal after any line of a def
    (root / path).write_text("".join(lines))
    return qualified_name


if __name__ == "__main__":
    main()
