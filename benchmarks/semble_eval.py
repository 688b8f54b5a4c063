"""Search quality on MinishLab semble's code-search benchmark: its annotations, its metric, our index.

    python benchmarks/semble_eval.py --work DIR [--repos flask,requests,...] [--limit N] [--json OUT]

For each repository it fetches the release closest to semble's pinned revision from PyPI (an sdist,
``pip download``) or npm (``npm pack``) into ``DIR/src`` (reused when present), and indexes the part
semble indexes (its ``benchmark_root``: ``src/flask``, ``lib``, ...) with
``mnemo index PATH --name semble-NAME --in-process`` into a dedicated index, ``DIR/home`` (the
MNEMO_HOME of this script, so the project's own index is untouched). A repository already indexed
from the same archive is not indexed again (``DIR/home/semble-state/NAME.json``). Then every
annotated query runs through ``mnemo_dagster.Index().search(query, "semble-NAME", limit=10)``.

**The metric** is semble's ``benchmarks/run_benchmark.py`` with ``benchmarks/metrics.py`` and
``benchmarks/data.py``: a query's targets are its ``relevant`` plus its ``secondary`` paths, all of
grade 1; a target's rank is the first of the top 10 hits whose path matches it (``path_matches``:
equal, or one a ``/``-suffix of the other) and, for a target with a line span, whose lines overlap
the span; NDCG@10 puts a 1 at each such rank (two targets found by the same hit count once) over the
ideal DCG of ``min(10, targets)`` ones. A query without a ``category`` gets semble's
``infer_category`` (one word: ``symbol``; ``how ...``: ``architecture``; else ``semantic``). A
repository's score is the mean over its queries; the summary, like semble's, is the mean over
repositories, and each category the mean over the repositories that have it. Hit paths are compared
as paths from the git repository's root (the benchmark root prefixed), which is how the annotations
write them. ``--root-paths`` compares paths relative to the benchmark root instead, as semble's
current ``SembleIndex.from_path`` stores them (then ``app.py`` also matches ``src/flask/sansio/app.py``).

**The annotations** are not in this repository. Save them once as ``DIR/annotations/NAME.json``
(or pass ``--annotations``), from ``benchmarks/annotations/NAME.json`` of github.com/MinishLab/semble
(aiohttp, express, fastapi, trpc, zod) or of its fork github.com/michalfedyna/semble (axios, flask,
httpx, redux, requests, starlette); ``benchmarks/semble/repos.json`` names the commit of each copy
used for the figures in docs/benchmarks.md. Where GitHub is reachable, for example::

    curl -o DIR/annotations/flask.json https://raw.githubusercontent.com/michalfedyna/semble/\
d2dbdd21054887cf597ac897d2edea8821fa56c5/benchmarks/annotations/flask.json

(a machine without it: read them elsewhere and copy them in). Only ``query``, ``relevant``,
``secondary`` and ``category`` are read. ``benchmarks/semble/published.json`` holds semble's and
CodeRankEmbed's published per-repository NDCG@10, printed beside ours.

A target is **covered** when its file is in the indexed tree. ``--json OUT`` writes every query's
targets, ranks, NDCG@10 and top-10 hits; ``-v`` prints each query that scored below 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "semble"
K = 10
CATEGORIES = ("architecture", "semantic", "symbol")
NOT_PUBLIC = {"click": "semble's click annotations are in no public copy"}
TOOLS = {"semble": "semble", "coderankembed_hybrid": "CRE hybrid"}
"""The published tools printed beside ours, and their column labels."""


@dataclass(frozen=True)
class RepoSpec:
    name: str
    registry: str
    """``pypi`` (an sdist) or ``npm`` (the package tarball)."""
    package: str
    version: str
    archive_root: str
    """The directory to index, inside the archive's top directory."""
    git_root: str
    """Where that directory is in the git repository (semble's ``benchmark_root``)."""
    exclude: tuple[str, ...] = ()
    """Globs (relative to the indexed root) of files the archive has and the git tree has not."""


@dataclass(frozen=True)
class Target:
    path: str
    start_line: int | None = None
    end_line: int | None = None


@dataclass
class Task:
    repo: str
    query: str
    category: str
    targets: list[Target]
    ranks: list[int | None] = field(default_factory=list)
    ndcg: float = 0.0
    ndcg_root_paths: float = 0.0
    hits: list[dict[str, Any]] = field(default_factory=list)


def load_specs() -> dict[str, RepoSpec]:
    raw = json.loads((HERE / "repos.json").read_text(encoding="utf-8"))
    fields = RepoSpec.__dataclass_fields__
    return {
        item["name"]: RepoSpec(
            **{k: tuple(v) if k == "exclude" else v for k, v in item.items() if k in fields}
        )
        for item in raw["repos"]
    }


# -- semble's metric (benchmarks/data.py, benchmarks/metrics.py) ------------------------------------


def infer_category(query: str) -> str:
    if " " not in query.strip():
        return "symbol"
    lowered = query.lower()
    if lowered.startswith("how ") or lowered.startswith("how does") or lowered.startswith("how are"):
        return "architecture"
    return "semantic"


def parse_target(raw: str | dict[str, Any]) -> Target:
    if isinstance(raw, str):
        return Target(raw)
    start, end = raw.get("start_line"), raw.get("end_line")
    return Target(
        str(raw["path"]), int(start) if start is not None else None, int(end) if end is not None else None
    )


def path_matches(file_path: str, target_path: str) -> bool:
    a, b = file_path.replace("\\", "/"), target_path.replace("\\", "/")
    return a == b or a.endswith(f"/{b}") or b.endswith(f"/{a}")


def target_rank(hits: list[tuple[str, int, int]], target: Target) -> int | None:
    for rank, (path, start, end) in enumerate(hits, 1):
        if not path_matches(path, target.path):
            continue
        if target.start_line is None or target.end_line is None:
            return rank
        if not (end < target.start_line or start > target.end_line):
            return rank
    return None


def dcg(relevances: list[int]) -> float:
    return sum(rel / math.log2(i + 2) for i, rel in enumerate(relevances))


def ndcg_at_k(ranks: list[int], n_relevant: int, k: int = K) -> float:
    if n_relevant == 0:
        return 0.0
    relevances = [0] * k
    for rank in ranks:
        if 1 <= rank <= k:
            relevances[rank - 1] = 1
    ideal = dcg([1] * min(k, n_relevant))
    return dcg(relevances) / ideal if ideal > 0 else 0.0


def load_tasks(path: Path, repo: str) -> list[Task]:
    tasks = []
    for item in json.loads(path.read_text(encoding="utf-8")):
        category = item.get("category")
        targets = [parse_target(t) for t in item.get("relevant", []) + item.get("secondary", [])]
        category = category if isinstance(category, str) else infer_category(item["query"])
        tasks.append(Task(repo, item["query"], category, targets))
    return tasks


# -- sources ------------------------------------------------------------------------------------------


def _archive(spec: RepoSpec, downloads: Path) -> Path:
    """The sdist or npm tarball of ``spec`` in ``downloads``, fetched when missing."""
    downloads.mkdir(parents=True, exist_ok=True)
    if spec.registry == "pypi":
        sdist = f"{spec.package.replace('-', '_')}-{spec.version}.tar.gz".lower()
        for attempt in range(2):
            found = [p for p in sorted(downloads.glob("*.tar.gz")) if p.name.lower() == sdist]
            if found:
                return found[0]
            if attempt == 0:
                command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
                command += ["-q", "-d", str(downloads), f"{spec.package}=={spec.version}"]
                subprocess.run(command, check=True)
        raise SystemExit(f"{spec.name}: no sdist {sdist} after pip download")
    stem = f"{spec.package.lstrip('@').replace('/', '-')}-{spec.version}.tgz"
    if not (downloads / stem).exists():
        subprocess.run(
            ["npm", "pack", f"{spec.package}@{spec.version}", "--silent"],
            cwd=downloads,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return downloads / stem


def fetch(spec: RepoSpec, work: Path) -> tuple[Path, str]:
    """The directory to index (``DIR/src/NAME-VERSION``, the archive's ``archive_root`` alone) and the
    archive's sha256."""
    archive = _archive(spec, work / "downloads")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    target = work / "src" / f"{spec.name}-{spec.version}"
    marker = target / ".semble-source"
    if marker.exists() and marker.read_text().strip() == digest:
        return target, digest
    shutil.rmtree(target, ignore_errors=True)
    staging = work / "src" / f".{spec.name}-staging"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    (top,) = [p for p in staging.iterdir() if p.is_dir()]
    shutil.move(str(top / spec.archive_root), target)
    shutil.rmtree(staging)
    for pattern in spec.exclude:
        for path in sorted(target.glob(pattern)):
            path.unlink()
    marker.write_text(digest + "\n")
    return target, digest


def index(spec: RepoSpec, source: Path, digest: str, home: Path) -> None:
    """Index ``source`` as ``semble-NAME`` unless the state file says it was, from the same archive."""
    state = home / "semble-state" / f"{spec.name}.json"
    wanted = {"package": spec.package, "version": spec.version, "sha256": digest}
    if state.exists() and json.loads(state.read_text()) == wanted:
        return
    mnemo = Path(sys.executable).parent / "mnemo"
    command = [str(mnemo), "index", str(source), "--name", f"semble-{spec.name}", "--in-process", "--json"]
    print(f"indexing {spec.name} {spec.version} ...", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(wanted) + "\n")


# -- evaluation ---------------------------------------------------------------------------------------


def evaluate(index: Any, spec: RepoSpec, tasks: list[Task]) -> None:
    """Search every task and score it in place."""
    prefix = spec.git_root.strip("/")
    for task in tasks:
        found = index.search(task.query, f"semble-{spec.name}", limit=K)
        repo_paths = [
            (f"{prefix}/{h.file_path}" if prefix else h.file_path, h.start_line, h.end_line) for h in found
        ]
        root_paths = [(h.file_path, h.start_line, h.end_line) for h in found]
        task.ranks = [target_rank(repo_paths, t) for t in task.targets]
        task.ndcg = ndcg_at_k([r for r in task.ranks if r is not None], len(task.targets))
        loose = [r for t in task.targets if (r := target_rank(root_paths, t)) is not None]
        task.ndcg_root_paths = ndcg_at_k(loose, len(task.targets))
        task.hits = [
            {
                "path": path,
                "start_line": start,
                "end_line": end,
                "kind": h.kind,
                "name": h.qualified_name,
                "match": h.match,
                "score": h.score,
            }
            for (path, start, end), h in zip(repo_paths, found, strict=True)
        ]


def coverage(spec: RepoSpec, source: Path, tasks: list[Task]) -> tuple[int, int, list[str]]:
    prefix = spec.git_root.strip("/") + "/"
    missing = []
    targets = [t for task in tasks for t in task.targets]
    for t in targets:
        relative = t.path[len(prefix) :] if t.path.startswith(prefix) else None
        if relative is None or not (source / relative).is_file():
            missing.append(t.path)
    return len(targets) - len(missing), len(targets), sorted(set(missing))


def chunk_count(index: Any, repository: str) -> int:
    import sqlalchemy as sa

    from mnemo_dagster.store.schema import code_chunks

    with index.store.begin() as conn:
        query = sa.select(sa.func.count()).where(code_chunks.c.repository == repository)
        return int(conn.execute(query).scalar_one())


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _cell(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "  -  "


def report(results: dict[str, dict[str, Any]], published: dict[str, Any], root_paths: bool) -> None:
    tools = [t for t in TOOLS if t in published["tools"]]
    key = "ndcg_root_paths" if root_paths else "ndcg"
    paths = "paths from the benchmark root" if root_paths else "paths from the repository root"
    print(f"\nNDCG@10 ({paths})")
    header = f"{'repository':<12} {'queries':>7} {'covered':>9} {'chunks':>6} {'(sem.)':>6}  {'mnemo':>6}"
    header += "".join(f" {TOOLS[t]:>10}" for t in tools)
    header += "  " + " ".join(f"{c[:5]:>5}" for c in CATEGORIES)
    print(header)
    ours_repo: list[float] = []
    ours_cat: dict[str, list[float]] = {c: [] for c in CATEGORIES}
    theirs_repo: dict[str, list[float]] = {t: [] for t in tools}
    theirs_cat: dict[str, dict[str, list[float]]] = {t: {c: [] for c in CATEGORIES} for t in tools}
    for name, result in results.items():
        tasks: list[Task] = result["tasks"]
        score = _mean([getattr(t, key) for t in tasks]) or 0.0
        ours_repo.append(score)
        by_cat = {c: _mean([getattr(t, key) for t in tasks if t.category == c]) for c in CATEGORIES}
        for c, v in by_cat.items():
            if v is not None:
                ours_cat[c].append(v)
        covered = f"{result['covered']}/{result['targets']}"
        theirs = published["tools"].get("semble", {}).get("repos", {}).get(name, {}).get("chunks")
        row = f"{name:<12} {len(tasks):>7} {covered:>9} {result['chunks']:>6} {theirs or '-':>6}"
        row += f"  {score:>6.3f}"
        for tool in tools:
            figure = published["tools"][tool]["repos"].get(name)
            row += f" {_cell(figure['ndcg10'] if figure else None):>10}"
            if figure:
                theirs_repo[tool].append(figure["ndcg10"])
                for c, v in figure.get("by_category", {}).items():
                    theirs_cat[tool][c].append(v)
        row += "  " + " ".join(f"{_cell(by_cat[c]):>5}" for c in CATEGORIES)
        print(row)
    print(f"\n{'mean over repositories':<28} {'mnemo':>6}" + "".join(f" {TOOLS[t]:>10}" for t in tools))
    row = f"{'all':<28} {_cell(_mean(ours_repo)):>6}"
    print(row + "".join(f" {_cell(_mean(theirs_repo[t])):>10}" for t in tools))
    for c in CATEGORIES:
        row = f"{c:<28} {_cell(_mean(ours_cat[c])):>6}"
        print(row + "".join(f" {_cell(_mean(theirs_cat[t][c])):>10}" for t in tools))


def _print_misses(results: dict[str, dict[str, Any]]) -> None:
    for name, result in results.items():
        for task in result["tasks"]:
            if task.ndcg >= 1.0:
                continue
            print(f"\n[{name} {task.category}] {task.ndcg:.3f} ranks={task.ranks} q={task.query!r}")
            for t in task.targets:
                span = f":{t.start_line}-{t.end_line}" if t.start_line is not None else ""
                print(f"    target {t.path}{span}")
            for n, hit in enumerate(task.hits[:5], 1):
                where = f"{hit['path']}:{hit['start_line']}-{hit['end_line']}"
                print(f"    {n}. {where} {hit['kind']} {hit['name']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, required=True, help="downloads, sources and the index live here")
    parser.add_argument("--repos", help="comma-separated names (default: every repository with annotations)")
    parser.add_argument("--annotations", type=Path, help="directory of NAME.json (default: WORK/annotations)")
    parser.add_argument("--limit", type=int, help="only the first N queries of each repository")
    parser.add_argument("--json", type=Path, help="write every query's targets, ranks and hits here")
    parser.add_argument(
        "--root-paths", action="store_true", help="match paths relative to the benchmark root"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every query that scored below 1")
    args = parser.parse_args()

    work = args.work.resolve()
    home = work / "home"
    os.environ["MNEMO_HOME"] = str(home)
    os.environ.pop("MNEMO_DATABASE_URL", None)
    os.environ.pop("DAGSTER_HOME", None)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    annotations = (args.annotations or work / "annotations").resolve()
    specs = load_specs()
    names = args.repos.split(",") if args.repos else sorted(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        why = "".join(f"; {n}: {NOT_PUBLIC[n]}" for n in unknown if n in NOT_PUBLIC)
        raise SystemExit(f"unknown repositories {unknown}; known: {', '.join(sorted(specs))}{why}")
    names = [n for n in names if (annotations / f"{n}.json").exists() or args.repos]
    missing = [n for n in names if not (annotations / f"{n}.json").exists()]
    if missing:
        raise SystemExit(f"no annotations for {missing} in {annotations} (see this script's docstring)")

    sources: dict[str, tuple[Path, list[Task]]] = {}
    for name in names:
        spec = specs[name]
        source, digest = fetch(spec, work)
        index(spec, source, digest, home)
        tasks = load_tasks(annotations / f"{name}.json", name)
        sources[name] = (source, tasks[: args.limit] if args.limit else tasks)

    from mnemo_dagster.retrieval.index import Index

    results: dict[str, dict[str, Any]] = {}
    with Index() as client:
        client.warm()
        known = set(client.repositories())
        for name in names:
            spec = specs[name]
            if f"semble-{name}" not in known:
                raise SystemExit(f"semble-{name} is not in the index of {home}: remove its semble-state file")
            source, tasks = sources[name]
            evaluate(client, spec, tasks)
            covered, total, absent = coverage(spec, source, tasks)
            results[name] = {
                "spec": spec,
                "tasks": tasks,
                "covered": covered,
                "targets": total,
                "absent": absent,
                "chunks": chunk_count(client, f"semble-{name}"),
            }
            for path in absent:
                print(f"{name}: target not in the indexed tree: {path}", file=sys.stderr)
    mnemo = str(Path(sys.executable).parent / "mnemo")
    subprocess.run([mnemo, "db", "stop"], check=False, capture_output=True)

    published = json.loads((HERE / "published.json").read_text(encoding="utf-8"))
    if args.verbose:
        _print_misses(results)
    report(results, published, args.root_paths)
    if args.json:
        payload = {
            name: {
                "package": f"{r['spec'].registry}:{r['spec'].package}=={r['spec'].version}",
                "covered": r["covered"],
                "targets": r["targets"],
                "chunks": r["chunks"],
                "ndcg10": _mean([t.ndcg for t in r["tasks"]]),
                "queries": [
                    {
                        "query": t.query,
                        "category": t.category,
                        "targets": [t2.__dict__ for t2 in t.targets],
                        "ranks": t.ranks,
                        "ndcg10": t.ndcg,
                        "ndcg10_root_paths": t.ndcg_root_paths,
                        "hits": t.hits,
                    }
                    for t in r["tasks"]
                ],
            }
            for name, r in results.items()
        }
        args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
