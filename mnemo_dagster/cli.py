"""The ``mnemo`` command: index a directory through Dagster, inspect it, search it."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from mnemo_dagster.core.errors import MnemoError
from mnemo_dagster.core.settings import Settings
from mnemo_dagster.core.store.database import IndexStore
from mnemo_dagster.core.store.server import DatabaseUrls, resolve_urls

BULK_LOAD_FILES = 2000
"""A pass that (re)indexes at least this many files drops the HNSW index and rebuilds it at the end."""


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _context() -> tuple[Settings, DatabaseUrls, IndexStore]:
    settings = Settings.from_env()
    urls = resolve_urls(settings)
    return settings, urls, IndexStore(urls.index)


def _ensure_schema(settings: Settings, store: IndexStore) -> None:
    from mnemo_dagster.core.embedding import SentenceTransformerEmbedder, model_dimension

    dimension = model_dimension(settings.embedding_model)
    if dimension is None:
        dimension = SentenceTransformerEmbedder(settings.embedding_model).dimension
    store.ensure_schema(settings.embedding_model, dimension)


def cmd_index(args: argparse.Namespace) -> int:
    from dagster import DagsterInstance

    from mnemo_dagster.core.planning import default_repository_name, plan_pass
    from mnemo_dagster.defs.launch import (
        prepare_dagster_home,
        run_batches,
        run_graph,
        sync_partitions,
        warm_step_server,
    )

    started = time.perf_counter()
    settings, urls, store = _context()
    root = Path(args.path).expanduser().resolve()
    name = args.name or default_repository_name(root)
    prepare_dagster_home(settings.home, urls.dagster)
    warm_step_server()  # its imports overlap with the scan; unused (and gone at exit) if nothing runs
    _ensure_schema(settings, store)
    with store.pass_lock(name, wait_seconds=30) as acquired:  # a sensor tick holds it for seconds
        if not acquired:
            _err(f"mnemo: another pass over {name!r} is running (mnemo index or the directory sensor)")
            return 2
        plan = plan_pass(
            store,
            name,
            root,
            max_file_bytes=settings.max_file_bytes,
            batch_bytes=settings.batch_bytes,
            max_files=args.batch_size,
        )
        _err(
            f"{name}: {plan.files_new_or_changed} new or changed files, {plan.files_unchanged} unchanged, "
            f"{plan.files_deleted} deleted; {len(plan.to_run)} of {len(plan.batches)} batches to run"
        )
        with DagsterInstance.get() as instance:
            sync_partitions(instance, plan.batches, plan.removed)
            if plan.files_new_or_changed >= BULK_LOAD_FILES:
                store.drop_vector_index()
            chunks_done = 0
            batch_started = time.perf_counter()

            def progress(index: int, outcome: Any) -> None:
                nonlocal chunks_done
                meta = outcome.metadata.get("code_chunks", {})
                chunks_done += int(meta.get("chunks", 0))
                rate = chunks_done / max(time.perf_counter() - batch_started, 1e-6)
                state = "ok" if outcome.success else "FAILED: " + "; ".join(outcome.errors)[:300]
                _err(
                    f"[{index + 1}/{len(plan.to_run)}] {outcome.partition}: "
                    f"{meta.get('files_indexed', 0)} files, "
                    f"{meta.get('chunks', 0)} chunks ({meta.get('embeddings_computed', 0)} embedded), "
                    f"{meta.get('files_failed', 0)} failed; {rate:.1f} chunks/s overall; {state}"
                )

            outcomes = run_batches(instance, name, plan.to_run, on_done=progress)
            graph_ok = True
            if outcomes or plan.files_deleted or store.graph_is_stale(name):
                _err(f"{name}: building the symbol graph")
                graph = run_graph(instance, [name])
                graph_ok = graph.success
                if not graph_ok:
                    _err(f"graph run failed: {'; '.join(graph.errors)[:500]}")
    from mnemo_dagster.core.store.database import status_report

    report = status_report(store, name)
    metas = [outcome.metadata.get("code_chunks", {}) for outcome in outcomes]
    embedded = sum(int(meta.get("embeddings_computed", 0)) for meta in metas)
    reused = sum(int(meta.get("embeddings_reused", 0)) for meta in metas)
    failed_batches = [o for o in outcomes if not o.success]
    summary = {
        "repository": name,
        "seconds": round(time.perf_counter() - started, 2),
        "batches": {"total": len(plan.batches), "run": len(outcomes), "failed": len(failed_batches)},
        "files": {
            "indexed": report["files"]["indexed"],
            "unchanged": plan.files_unchanged,
            "failed": report["files"]["failed"],
            "skipped": report["files"]["skipped"],
            "deleted": plan.files_deleted,
        },
        "chunks": {"total": report["chunks"], "embedded": embedded, "reused": reused},
        "graph": {"nodes": report["nodes"], "edges": report["edges"]},
    }
    store.dispose()
    if args.json:
        print(json.dumps(summary))
    else:
        files = summary["files"]
        print(
            f"Indexed {name} in {summary['seconds']:.1f} s: {files['indexed']} files indexed, "
            f"{files['failed']} failed, {files['skipped']} skipped, {files['deleted']} deleted; "
            f"{summary['chunks']['total']} chunks "
            f"({embedded} embedded, {reused} reused); "
            f"graph {report['nodes']} nodes, {report['edges']} edges."
        )
        if report["failed"]:
            print(f"{len(report['failed'])} file(s) failed; see `mnemo status {name}`.")
    if failed_batches:
        _err(
            f"{len(failed_batches)} batch(es) failed: {', '.join(o.partition or '?' for o in failed_batches)}"
        )
    return 1 if failed_batches or not graph_ok else 0


def cmd_status(args: argparse.Namespace) -> int:
    from mnemo_dagster.core.store.database import status_report

    _, urls, store = _context()
    names = [args.name] if args.name else store.repository_names()
    if args.name and args.name not in store.repository_names():
        _err(f"no repository named {args.name!r}; known: {', '.join(store.repository_names()) or 'none'}")
        return 2
    reports = [status_report(store, name) for name in names]
    runs = _recent_runs(urls, names)
    for report in reports:
        report["recent_runs"] = runs.get(report["repository"], [])
    store.dispose()
    if args.json:
        print(json.dumps(reports if not args.name else reports[0], indent=2))
        return 0
    if not reports:
        print("No repositories indexed yet. Run `mnemo index PATH`.")
    for r in reports:
        f = r["files"]
        print(f"{r['repository']}  ({r['root_path']})")
        print(
            f"  files: {f['indexed']} indexed, {f['pending']} pending, {f['failed']} failed, "
            f"{f['skipped']} skipped; {r['batches']} batches; {r['chunks']} chunks; "
            f"graph: {r['nodes']} nodes, {r['edges']} edges"
        )
        for item in r["failed"]:
            print(f"  failed   {item['path']}: {item['reason']}")
        for item in r["warnings"][:20]:
            print(f"  warning  {item['path']}: {item['warning']}")
        skipped = r["skipped"]
        if skipped:
            reasons: dict[str, int] = {}
            for item in skipped:
                reasons[item["reason"].split(" (")[0]] = reasons.get(item["reason"].split(" (")[0], 0) + 1
            print("  skipped: " + ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())))
        for run in r["recent_runs"][:5]:
            print(f"  run {run['run_id'][:8]} {run['job']} {run['partition'] or ''} {run['status']}")
    return 0


def _recent_runs(urls: DatabaseUrls, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The last runs per repository from Dagster's run storage (empty if it is not reachable)."""
    from dagster import DagsterInstance, RunsFilter

    from mnemo_dagster.defs.launch import prepare_dagster_home

    prepare_dagster_home(Settings.from_env().home, urls.dagster)
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        with DagsterInstance.get() as instance:
            for name in names:
                records = instance.get_run_records(RunsFilter(tags={"mnemo/repository": name}), limit=10)
                found[name] = [
                    {
                        "run_id": rec.dagster_run.run_id,
                        "job": rec.dagster_run.job_name,
                        "partition": rec.dagster_run.tags.get("dagster/partition"),
                        "status": rec.dagster_run.status.value,
                        "created_at": rec.create_timestamp.isoformat(),
                    }
                    for rec in records
                ]
    except Exception as exc:  # run history is a nice-to-have in `status`; the index counts are not
        _err(f"(run history unavailable: {exc})")
    return found


def cmd_search(args: argparse.Namespace) -> int:
    from mnemo_dagster import search

    hits = search(args.query, repository=args.repo, limit=args.limit)
    if args.json:
        print(json.dumps([{k: v for k, v in h.as_dict().items() if k != "content"} for h in hits], indent=2))
        return 0
    if not hits:
        print("No results.")
    for hit in hits:
        print(
            f"{hit.score:.3f}  {hit.qualified_name}  "
            f"[{hit.kind}, {hit.file_path}:{hit.start_line}-{hit.end_line}]"
        )
        if args.show_code:
            print("    " + "\n    ".join(hit.content.splitlines()[:12]))
    return 0


def cmd_batches(args: argparse.Namespace) -> int:
    _, _, store = _context()
    if args.name not in store.repository_names():
        _err(f"no repository named {args.name!r}; run `mnemo index PATH --name {args.name}` first")
        return 2
    keys = store.pending_batches(args.name) if args.pending else store.batch_keys(args.name)
    store.dispose()
    print(",".join(keys))
    return 0


def cmd_db_url(args: argparse.Namespace) -> int:
    print(resolve_urls(Settings.from_env()).libpq)
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from mnemo_dagster.defs.launch import DAGSTER_STORAGE_ENV, prepare_dagster_home

    settings = Settings.from_env()
    urls = resolve_urls(settings)
    home = prepare_dagster_home(settings.home, urls.dagster)
    print(f"export DAGSTER_HOME={shlex.quote(str(home))}")
    print(f"export {DAGSTER_STORAGE_ENV}={shlex.quote(urls.dagster)}")
    print(f"export MNEMO_HOME={shlex.quote(str(settings.home))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mnemo", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="index a directory (runs every batch through Dagster)")
    index.add_argument("path")
    index.add_argument("--name", help="repository name (default: the directory name)")
    index.add_argument("--batch-size", type=int, help="at most N files per batch")
    index.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    index.set_defaults(func=cmd_index)

    status = sub.add_parser("status", help="files by status, failures, batches, runs")
    status.add_argument("name", nargs="?")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    search = sub.add_parser("search", help="semantic code search")
    search.add_argument("query")
    search.add_argument("--repo")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true")
    search.add_argument("--show-code", action="store_true", help="print the first lines of each hit")
    search.set_defaults(func=cmd_search)

    batches = sub.add_parser("batches", help="comma-separated batch keys (for `dagster job backfill`)")
    batches.add_argument("name")
    batches.add_argument("--pending", action="store_true", help="only batches with files still to index")
    batches.set_defaults(func=cmd_batches)

    db = sub.add_parser("db", help="database helpers")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("url", help="print a libpq URL of the index (for psql)").set_defaults(func=cmd_db_url)

    env = sub.add_parser("env", help='print the shell exports `dagster dev` needs: eval "$(mnemo env)"')
    env.set_defaults(func=cmd_env)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "batch_size", None) is not None and args.batch_size <= 0:
        _err("--batch-size must be positive")
        return 2
    try:
        return int(args.func(args))
    except MnemoError as exc:
        _err(f"mnemo: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
