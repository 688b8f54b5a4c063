"""The pipeline's ceiling: how fast a batch step reads, parses and writes when the model costs nothing.

    python benchmarks/pipeline_ceiling.py PATH [--parse-processes 0 1 2] [--home DIR]

On a GPU the model embeds thousands of chunks a second, so what limits a pass there is everything
else a step does: reading and parsing the files, hashing, writing each file's rows, PostgreSQL's
side of those writes. This runs the batches of a full first index of PATH in this process (the path
of ``mnemo index --in-process``, real parsers and the embedded PostgreSQL) with an instant stand-in
for the model, which returns random unit vectors, once per ``--parse-processes`` value (0: the
step's parsing thread), each in a fresh database. It prints files/min and chunks/s over the batches,
the reading-and-parsing and writing seconds (both overlap), and the CPU of this process, of the
parsing processes and of PostgreSQL. It measures the stages around the model, never the model: the
full pass against the real model is ``index_benchmark.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


class InstantModel:
    """Random unit vectors at no cost, in place of the model: the pipeline alone is measured."""

    model_name = "instant-stand-in"
    dimension = 384
    loaded = True

    def load(self) -> None:
        """Nothing to load."""

    def target_device(self) -> str:
        return "cpu"

    def encode(self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        if on_progress is not None:
            on_progress(len(texts))
        vectors = np.random.default_rng(len(texts)).standard_normal((len(texts), self.dimension))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--parse-processes", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--home", type=Path, help="where to put the databases (default: a temporary directory)"
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="mnemo-ceiling-"))
    os.environ.pop("MNEMO_DATABASE_URL", None)
    for run, processes in enumerate(args.parse_processes):
        database = home / f"run-{run}"  # a new directory each time: pgserver remembers stopped servers
        os.environ["MNEMO_HOME"] = str(database)
        os.environ["MNEMO_PARSE_PROCESSES"] = str(processes)
        _measure(args.path, processes)
        shutil.rmtree(database, ignore_errors=True)


def _measure(path: Path, processes: int) -> None:
    from mnemo_dagster.indexing.passes import PassObserver, run_pass
    from mnemo_dagster.indexing.report import BatchReport
    from mnemo_dagster.indexing.runners import InProcessRunner
    from mnemo_dagster.store.server import stop_embedded_server
    from mnemo_dagster.wiring import wire

    class Batches(PassObserver):
        def __init__(self) -> None:
            self.outcomes: list[BatchReport] = []
            self.cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)

        def planned(self, plan: object) -> None:
            self.cpu = _cpu(data_dir)

        def batch_done(self, outcome: BatchReport, position: int) -> None:
            self.outcomes.append(outcome)

        def graph_started(self) -> None:
            self.cpu = tuple(b - a for a, b in zip(self.cpu, _cpu(data_dir), strict=True))  # type: ignore[assignment]

    wiring = wire()
    wiring.__dict__["embedder"] = InstantModel()  # the cached property, filled before first use
    wiring.ensure_schema()
    data_dir = wiring.urls.embedded_data_dir
    batches = Batches()
    summary = run_pass(wiring, path, InProcessRunner(wiring), name="ceiling", observer=batches)
    wiring.close()
    if data_dir is not None:
        stop_embedded_server(data_dir)
    seconds = sum(o.seconds for o in batches.outcomes)
    files = summary.report["files"]["indexed"]
    chunks = sum(o.chunks for o in batches.outcomes)
    parse = sum(o.parse_seconds for o in batches.outcomes)
    write = sum(o.write_seconds for o in batches.outcomes)
    own, children, database = batches.cpu
    print(
        f"parse processes {processes}: {files} files, {chunks} chunks in {len(batches.outcomes)} batch(es), "
        f"{seconds:.2f} s: {files / seconds * 60:,.0f} files/min, {chunks / seconds:,.0f} chunks/s "
        f"(read+parse {parse:.2f} s, write {write:.2f} s; CPU s: this process {own:.2f}, "
        f"parsing processes {children:.2f}, PostgreSQL {database:.2f})",
        flush=True,
    )


def _cpu(data_dir: Path | None) -> tuple[float, float, float]:
    """CPU seconds so far: this process, its reaped children (the parsing processes), PostgreSQL."""
    from mnemo_dagster.store.server import embedded_server_cpu_seconds

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime, embedded_server_cpu_seconds(data_dir)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - started:.1f} s")
