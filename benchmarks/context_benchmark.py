"""How well each tool path finds the files a change touched, and how many tokens it costs an agent.

Tasks come from real git history: each commit's message is the question, the files it touched (that
the index holds at HEAD) are the answer. Three paths answer it, as an agent would:

- ``search``: ``Index.search(message, limit=10)``; the files of the hits, best first.
- ``map+search``: the same search, then ``repo_map`` personalised to the three best files, its file
  ranking fused with the search's (reciprocal ranks); the tokens of both answers count.
- ``grep+read``: the message's words through ``git grep -c`` (weighted by how rare each word is), the
  five best files read whole; the tokens of the grep output and of the files count.

Each path is scored by recall@5 (the share of the touched files among its first five) and the tokens
it returned. The repository is indexed at HEAD first (in-process) unless it already is.

    python benchmarks/context_benchmark.py --repo . --name mnemo --commits 60 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

_STOPWORDS_TEXT = (
    "the a an and or of to in on for with by from at as is are be it its this that these those into "
    "not no when than then so each one two all any every only also now new more most what which who "
    "how after before over under about their them they there where while do does did done use uses "
    "used make makes made get gets can may must should would will same other"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split(" "))
K_FUSION = 10
MAP_BUDGET = 1024
MAP_WEIGHT = 0.5
"""The map's share in the fused ranking: it reorders and adds to what search found, it does not lead."""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def tasks(repo: Path, indexed: set[str], count: int, max_files: int = 8) -> list[dict[str, Any]]:
    """The latest ``count`` non-merge commits that touched 1 to ``max_files`` indexed files."""
    log = _git(repo, "log", "--no-merges", "--format=%H%x00%s", "-n", str(count * 5))
    found = []
    for line in log.splitlines():
        sha, _, subject = line.partition("\0")
        touched = {p for p in _git(repo, "show", "--name-only", "--format=", sha).split() if p in indexed}
        if 1 <= len(touched) <= max_files and len(subject.split()) >= 3:
            found.append({"commit": sha[:12], "message": subject, "files": sorted(touched)})
        if len(found) == count:
            break
    return found


def recall_at_5(ranked: list[str], expected: list[str]) -> float:
    return len(set(ranked[:5]) & set(expected)) / len(expected)


def _files(hits: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(hit["file_path"] for hit in hits))


def search_path(index: Any, repository: str, message: str) -> tuple[list[str], list[dict[str, Any]], int]:
    from mnemo_dagster.context.tokens import estimate_tokens

    hits = [
        {k: v for k, v in hit.as_dict().items() if k != "content"}
        for hit in index.search(message, repository, 10)
    ]
    return _files(hits), hits, estimate_tokens(json.dumps({"hits": hits}))


def map_path(
    store: Any, repository: str, ranked: list[str], search_tokens: int, weight: float = MAP_WEIGHT
) -> tuple[list[str], int]:
    from mnemo_dagster.context.repo_map import repo_map

    answer = repo_map(store, repository, focus=ranked[:3], token_budget=MAP_BUDGET)
    mapped = [f["path"] for f in answer.as_dict()["files"]]
    score: dict[str, float] = defaultdict(float)
    for order, share in ((ranked, 1.0), (mapped, weight)):
        for rank, path in enumerate(order):
            score[path] += share / (K_FUSION + rank)
    fused = sorted(score, key=lambda p: -score[p])
    return fused, search_tokens + answer.tokens


def grep_path(repo: Path, message: str, total_files: int) -> tuple[list[str], int]:
    from mnemo_dagster.context.tokens import estimate_tokens

    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]{3,}", message)} - STOPWORDS
    score: Counter[str] = Counter()
    output_tokens = 0
    for word in sorted(words):
        done = subprocess.run(
            ["git", "grep", "-I", "-i", "-c", "-w", "-e", word, "HEAD", "--"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
        )
        lines = done.stdout.splitlines()
        output_tokens += estimate_tokens(done.stdout)
        if not lines:
            continue
        idf = math.log(1 + total_files / len(lines))
        for line in lines:
            _, path, hits = line.split(":", 2)
            score[path] += idf * math.log(1 + int(hits))
    ranked = [path for path, _ in score.most_common()]
    read = sum(estimate_tokens((repo / path).read_text(errors="replace")) for path in ranked[:5])
    return ranked, output_tokens + read


def run(repo: Path, name: str, commits: int, weight: float = MAP_WEIGHT) -> dict[str, Any]:
    from mnemo_dagster.retrieval.index import Index

    index = Index()
    store = index.store
    if name not in store.files.repository_names():
        print(f"indexing {repo} as {name} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "mnemo_dagster.cli", "index", str(repo), "--name", name, "--in-process"],
            check=True,
        )
    indexed = {path for path, f in store.files.stored(name).items() if f.status == "indexed"}
    total = len(_git(repo, "ls-files").split())
    results: dict[str, list[tuple[float, int]]] = defaultdict(list)
    rows = []
    for task in tasks(repo, indexed, commits):
        ranked, _, search_tokens = search_path(index, name, task["message"])
        fused, map_tokens = map_path(store, name, ranked, search_tokens, weight)
        grepped, grep_tokens = grep_path(repo, task["message"], total)
        for path, (order, tokens) in {
            "search": (ranked, search_tokens),
            "map+search": (fused, map_tokens),
            "grep+read": (grepped, grep_tokens),
        }.items():
            results[path].append((recall_at_5(order, task["files"]), tokens))
        rows.append({**task, "search": ranked[:5], "map+search": fused[:5], "grep+read": grepped[:5]})
    summary = {
        path: {
            "recall_at_5": round(statistics.mean(r for r, _ in scores), 3),
            "tokens_mean": round(statistics.mean(t for _, t in scores)),
            "tokens_median": round(statistics.median(t for _, t in scores)),
        }
        for path, scores in results.items()
    }
    index.close()
    return {"repository": name, "tasks": len(rows), "summary": summary, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="a git checkout")
    parser.add_argument("--name", required=True, help="its repository name in the index")
    parser.add_argument("--commits", type=int, default=60)
    parser.add_argument("--json", type=Path, help="write every task's answers here")
    parser.add_argument("--map-weight", type=float, default=MAP_WEIGHT, help="the map's share in the fusion")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    report = run(args.repo.resolve(), args.name, args.commits, args.map_weight)
    print(f"{report['repository']}: {report['tasks']} tasks (commit message -> touched files)")
    print(f"{'path':<12} {'recall@5':>9} {'tokens (mean)':>14} {'tokens (median)':>16}")
    for path, row in report["summary"].items():
        print(f"{path:<12} {row['recall_at_5']:>9.3f} {row['tokens_mean']:>14} {row['tokens_median']:>16}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
