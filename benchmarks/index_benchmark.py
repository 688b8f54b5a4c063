"""Benchmark a full indexing pass end to end, against the raw model's encode speed on the same chunks.

    python benchmarks/index_benchmark.py PATH [--name NAME] [--home DIR] [--edit]

Runs the same path as ``mnemo index`` (the step server started first, then the database, scan, plan,
one Dagster run per batch with the multiprocess executor, then the graph run) in a fresh MNEMO_HOME,
then embeds the very same chunk texts with the model alone, and prints files/min, chunks/s, the steps'
peak RSS, the ratio of the two speeds (for the pass, and for the whole command from the process's
start), where the time went and where the CPU went during the batches. With ``--edit`` it then edits
one function-sized chunk, re-indexes, and reports that pass's time as a fraction of the full pass.
The embedded server it started is stopped at the end.
"""

# ruff: noqa: E402  (the step server starts before the heavy imports, as in `mnemo index`)
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.launch.step_server import warm_before_database


def _arguments() -> argparse.Namespace:
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
    return args


if __name__ == "__main__":  # not in the step server, which imports this file too
    ARGS = _arguments()
    warm_before_database(Settings.from_env())


import psutil

from mnemo_dagster.indexing.batch import embedding_text
from mnemo_dagster.indexing.passes import (
    BatchRunner,
    GraphOutcome,
    PassObserver,
    PassSummary,
    run_pass,
)
from mnemo_dagster.indexing.planning import PassPlan
from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.launch.runner import open_runner
from mnemo_dagster.models import split_qualified_name
from mnemo_dagster.store.server import embedded_server_cpu_seconds, stop_embedded_server
from mnemo_dagster.wiring import Wiring, wire


def main(args: argparse.Namespace) -> None:
    wiring = wire()
    with open_runner(wiring) as runner:
        summary, batches_seconds = _timed_pass(wiring, runner, args)
        command_seconds = time.time() - psutil.Process().create_time()
        raw_rate, sample = _raw_encode_rate(wiring, args.name, args.sample)
        _print_full_pass(args, summary, batches_seconds, raw_rate, sample, wiring.embedder.dtype)
        chunks = sum(o.chunks for o in summary.batches)
        print(
            f"command seconds     {command_seconds:.1f} from the process's start, as `mnemo index` "
            f"(imports, the database's start, the pass): ratio {chunks / command_seconds / raw_rate:.2f}"
        )
        if args.edit:
            edited = _edit_one_function(wiring.store, args.name, args.path)
            edit, _ = _timed_pass(wiring, runner, args)
            print(
                f"edit pass           {edited}: {edit.seconds:.1f} s = "
                f"{edit.seconds / summary.seconds:.1%} of the full pass; {len(edit.batches)} batch(es) run, "
                f"{sum(o.embeddings_computed for o in edit.batches)} chunk(s) re-embedded, "
                f"{sum(o.embeddings_reused for o in edit.batches)} reused"
            )
    wiring.close()
    if wiring.urls.embedded_data_dir is not None:  # idle, it would still vacuum beside the next run
        stop_embedded_server(wiring.urls.embedded_data_dir)


class _CpuClock:
    """CPU seconds spent since it started: by the whole machine (busy and idle), by this process (the
    pass's driver: Dagster's executor loop, the progress hooks), and by the embedded PostgreSQL."""

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir
        self.start = self._now()

    def _now(self) -> tuple[float, float, float, float]:
        machine = psutil.cpu_times()
        idle = machine.idle + getattr(machine, "iowait", 0.0)
        return sum(machine) - idle, idle, time.process_time(), embedded_server_cpu_seconds(self.data_dir)

    def spent(self) -> str:
        busy, idle, driver, postgres = (b - a for a, b in zip(self.start, self._now(), strict=True))
        return (
            f"machine busy {busy:.1f}, idle {idle:.1f}; this process {driver:.1f}, "
            f"PostgreSQL {postgres:.1f}, the rest (steps) {busy - driver - postgres:.1f}"
        )


class _Timer(PassObserver):
    """Times the stages of a pass: scan and plan, the batches (the part to compare with the bare
    model), each batch's run around its step, and the graph; and where the CPU went meanwhile."""

    def __init__(self, data_dir: Path | None) -> None:
        self.started = self.planned_at = time.perf_counter()
        self.seconds = 0.0
        self.graph_seconds = 0.0
        self.batch_walls: dict[str, float] = {}
        self.data_dir = data_dir
        self.batch_cpu = ""
        self._cpu: _CpuClock | None = None

    def planned(self, plan: PassPlan) -> None:
        self.planned_at = time.perf_counter()
        self._cpu = _CpuClock(self.data_dir)

    def batch_started(self, key: str, position: int) -> None:
        self.batch_walls[key] = time.perf_counter()

    def batch_done(self, outcome: BatchReport, position: int) -> None:
        self.batch_walls[outcome.key] = time.perf_counter() - self.batch_walls[outcome.key]

    def graph_started(self) -> None:
        self.seconds = time.perf_counter() - self.planned_at
        if self._cpu is not None:
            self.batch_cpu = self._cpu.spent()
        self.graph_at = time.perf_counter()

    def graph_done(self, outcome: GraphOutcome) -> None:
        self.graph_seconds = time.perf_counter() - self.graph_at


def _timed_pass(wiring: Wiring, runner: BatchRunner, args: argparse.Namespace) -> tuple[PassSummary, float]:
    """One pass exactly as ``mnemo index`` runs it; the summary and the seconds its batches took."""
    timer = _Timer(wiring.urls.embedded_data_dir)
    summary = run_pass(wiring, args.path, runner, name=args.name, observer=timer)
    _print_breakdown(summary, timer)
    return summary, timer.seconds or summary.seconds


def _print_breakdown(summary: PassSummary, timer: _Timer) -> None:
    """Where the pass's time went. Stages inside a step overlap (parse and write run beside encode)."""
    outcomes = summary.batches
    steps = sum(o.seconds for o in outcomes)
    runs = sum(timer.batch_walls.get(o.key, 0.0) for o in outcomes)
    parts = {
        "scan+plan": timer.planned_at - timer.started,
        "run start/end": runs - steps,
        "model load": sum(o.load_seconds for o in outcomes),
        "parse": sum(o.parse_seconds for o in outcomes),
        "encode": sum(o.encode_seconds for o in outcomes),
        "write": sum(o.write_seconds for o in outcomes),
        "graph": timer.graph_seconds,
    }
    print("breakdown (s)       " + ", ".join(f"{name} {value:.1f}" for name, value in parts.items()))
    if timer.batch_cpu:
        print(f"CPU s, batches      {timer.batch_cpu}")
    fixed = summary.seconds - parts["encode"]
    print(
        f"fixed cost (s)      {fixed:.1f} (the pass minus encoding), "
        f"{fixed - parts['model load']:.1f} without the model's load"
    )


def _raw_encode_rate(wiring: Wiring, repository: str, sample: int) -> tuple[float, int]:
    """Chunks per second of the bare model on a random sample of the stored chunks."""
    import sqlalchemy as sa

    from mnemo_dagster.store.schema import code_chunks

    with wiring.store.begin() as conn:
        rows = conn.execute(
            sa.select(code_chunks.c.file_path, code_chunks.c.qualified_name, code_chunks.c.content)
            .where(code_chunks.c.repository == repository)
            .order_by(sa.func.random())
            .limit(sample)
        ).all()
    texts = [embedding_text(path, split_qualified_name(qn)[1], content) for path, qn, content in rows]
    embedder = wiring.embedder
    embedder.encode(texts[:32])  # warm-up (and the load)
    started = time.perf_counter()
    # The bare model: one sentence-transformers call, as the pipeline's slices add up to.
    embedder.model.encode(
        texts, batch_size=embedder.batch_size, convert_to_tensor=True, show_progress_bar=False
    )
    return len(texts) / (time.perf_counter() - started), len(texts)


def _print_full_pass(
    args: argparse.Namespace,
    summary: PassSummary,
    batches_seconds: float,
    raw_rate: float,
    sample: int,
    dtype: str,
) -> None:
    report, outcomes, total_seconds = summary.report, summary.batches, summary.seconds
    chunks = sum(o.chunks for o in outcomes)
    peaks = [o.peak_rss_mb for o in outcomes]
    files = report["files"]
    e2e_rate = chunks / batches_seconds if batches_seconds else 0.0
    graph_ok = summary.graph is None or summary.graph.success
    print(
        f"repository          {args.path} ({files['indexed']} indexed, {files['failed']} failed, "
        f"{files['skipped']} skipped)"
    )
    print(
        f"batches             {len(outcomes)} run, {len(summary.failed_batches)} failed; "
        f"graph run {'ok' if graph_ok else 'FAILED'}"
    )
    print(f"chunks              {chunks} ({sum(o.embeddings_computed for o in outcomes)} embedded)")
    print(
        f"pass seconds        {total_seconds:.1f} "
        f"(batches {batches_seconds:.1f}, encode {sum(o.encode_seconds for o in outcomes):.1f})"
    )
    print(f"files/min           {files['indexed'] / total_seconds * 60:.0f}")
    print(f"chunks/s            {e2e_rate:.1f} (batches only), {chunks / total_seconds:.1f} (whole pass)")
    print(f"raw encode chunks/s {raw_rate:.1f} ({dtype}, {sample} of the same chunks)")
    print(
        f"ratio e2e/raw       {e2e_rate / raw_rate:.2f} (batches only), "
        f"{chunks / total_seconds / raw_rate:.2f} (whole pass)"
    )
    if peaks:
        print(f"step peak RSS MB    max {max(peaks):.0f}, first {peaks[0]:.0f}, last {peaks[-1]:.0f}")
    print(f"graph               {report['nodes']} nodes, {report['edges']} edges")


def _edit_one_function(store: object, repository: str, root: Path) -> str:
    """Add a comment line inside one Python function of the (copied) tree; return the function's name."""
    import sqlalchemy as sa

    from mnemo_dagster.store.schema import code_chunks

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
    main(ARGS)
