"""Measure the planner and the ``mnemo`` command on a very large tree: time and the CLI's peak RSS.

    python benchmarks/tree_benchmark.py [--files 100000] [--home DIR]

Builds a tree of ``--files`` Python files from real source files (the standard library's), each copy
with a small edit (a comment with its number, so no two files are the same), then measures, each
with the ``mnemo`` command in its own process:

1. the first plan (the scan and plan a first ``mnemo index`` makes, through the same planner);
2. a no-op ``mnemo index`` over the fully indexed tree;
3. ``mnemo index`` after editing one file.

Embedding 100k files would take hours on a laptop, and is what ``index_benchmark.py`` measures; here
the files are marked indexed in the database after the first plan (status, hashes), exactly the state
a finished pass leaves for their rows in ``source_files``, but with no chunks. The no-op and the edit
passes are then real ``mnemo index`` runs: the scan, the plan, one Dagster run for the edited file's
batch (which re-reads only that file) and the graph.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path


def build_tree(root: Path, count: int) -> int:
    """Copy standard-library modules into ``root`` until it holds ``count`` files; returns bytes."""
    sources = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    sources = [p for p in sources if "test" not in p.parts and p.stat().st_size < 200_000]
    total = 0
    for n in range(count):
        source = sources[n % len(sources)]
        target = root / f"pkg{n // 1000:03d}" / f"mod{n % 1000:03d}_{source.stem}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        data = source.read_bytes() + f"\n# copy {n}\n".encode()
        target.write_bytes(data)
        total += len(data)
    return total


def run_mnemo(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds, the command's peak RSS in MB, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mnemo_dagster.cli", *args], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mnemo {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: report it only when it grew.
    return seconds, max(peak, before) / 1024, done.stdout


def mark_indexed(env: dict[str, str], name: str) -> int:
    """Mark every pending file of ``name`` indexed, as a finished pass would (no chunks)."""
    code = (
        "import sqlalchemy as sa\n"
        "from mnemo_dagster.wiring import wire\n"
        "from mnemo_dagster.store.schema import source_files as f\n"
        "w = wire()\n"
        "with w.store.begin() as c:\n"
        f"    r = c.execute(f.update().where(f.c.repository == {name!r}, f.c.status == 'pending')"
        ".values(status='indexed', indexed_hash=f.c.content_hash))\n"
        "print(r.rowcount)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--home", type=Path, help="work directory (default: a new temporary one)")
    args = parser.parse_args()
    work = args.home or Path(tempfile.mkdtemp(prefix="mnemo-tree-"))
    root = work / "tree"
    env = {**os.environ, "MNEMO_HOME": str(work / "home"), "MNEMO_SEARCH_SERVICE": "0"}
    env.pop("MNEMO_DATABASE_URL", None)
    env.pop("DAGSTER_HOME", None)

    started = time.perf_counter()
    size = build_tree(root, args.files)
    built = time.perf_counter() - started
    print(f"tree                {args.files} files, {size / 2**20:.0f} MB ({built:.0f} s)")

    # The first plan, through the pass owner's planner, in a process of its own.
    plan_code = (
        "import time, resource\n"
        "from pathlib import Path\n"
        "from mnemo_dagster.indexing.passes import locked_plan\n"
        "from mnemo_dagster.wiring import wire\n"
        "w = wire(); w.ensure_schema(); t = time.perf_counter()\n"
        f"with locked_plan(w.store, w.settings, 'tree', Path({str(root)!r})) as plan:\n"
        "    pass\n"
        "print(f'{time.perf_counter() - t:.1f} {len(plan.batches)} {plan.files_to_index} '\n"
        "      f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", plan_code], env=env, capture_output=True, text=True, check=True
    )
    seconds, batches, pending, rss = out.stdout.split()
    print(f"first plan          {seconds} s, {batches} batches, {pending} files to index, peak RSS {rss} MB")
    print(f"                    (marked {mark_indexed(env, 'tree')} files indexed, without chunks)")

    seconds, rss_mb, _ = run_mnemo(["index", str(root), "--name", "tree", "--json"], env)
    print(f"no-op mnemo index   {seconds:.1f} s, CLI peak RSS {rss_mb:.0f} MB")

    edited = next(root.rglob("*.py"))
    edited.write_text(edited.read_text() + "\n# edited\n")
    seconds, rss_mb, _ = run_mnemo(["index", str(root), "--name", "tree", "--json"], env)
    print(f"one edited file     {seconds:.1f} s, CLI peak RSS (max so far) {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
