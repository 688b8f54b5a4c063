"""A step's heartbeat: what it says while a batch runs, and the watchdog that reads it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mnemo_dagster.defs.watchdog import watch
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.batch import index_batch
from mnemo_dagster.indexing.heartbeat import (
    ENCODING,
    PARSING,
    WRITING,
    Beat,
    Heartbeat,
    heartbeat_path,
    read_beat,
    stall_message,
)
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.store.database import IndexStore

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


def test_the_stage_is_the_oldest_unfinished_activity_and_progress_counts_finished_ones(
    tmp_path: Path,
) -> None:
    path = heartbeat_path(tmp_path, "shop__0001")
    with Heartbeat(path, "shop__0001", files_total=3) as beat:
        first = read_beat(path)
        assert first == Beat("shop__0001", os.getpid(), beat.started, first.updated, files_total=3)  # type: ignore[union-attr]
        encoding = beat.begin(ENCODING, "a.py (+1 files)")
        with beat.doing(PARSING, "c.py", files_parsed=1):
            assert (read_beat(path).stage, read_beat(path).file) == (ENCODING, "a.py (+1 files)")  # type: ignore[union-attr]
        beat.progress(chunks_encoded=128)
        beat.end(encoding)
        with pytest.raises(OSError), beat.doing(WRITING, "a.py", files_done=1):
            raise OSError("the database went away")  # a failed activity counts nothing
        last = read_beat(path)
        assert last is not None
        assert (last.beats, last.files_parsed, last.chunks_encoded, last.files_done) == (3, 1, 128, 0)
        assert (last.stage, last.file, last.files_total) == (ENCODING, "a.py (+1 files)", 3)
        assert stall_message(last, 61.4) == (
            f"no progress for 61 s while encoding a.py (+1 files) (batch shop__0001, step pid {os.getpid()})"
        )
    assert not path.exists()  # the batch is over


def test_an_indexed_batch_counts_every_file_and_every_encoded_chunk(
    fresh_store: IndexStore, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    repo = tmp_path / "shop"
    shutil.copytree(SAMPLE, repo)
    plan = plan_pass(fresh_store, "shop", repo, max_file_bytes=1 << 20)
    seen: list[Beat] = []
    heartbeat = Heartbeat(None, plan.to_run[0])
    original = heartbeat.progress

    def recording(**counts: int) -> None:
        original(**counts)
        seen.append(heartbeat.beat())

    heartbeat.progress = recording  # type: ignore[method-assign]
    report = index_batch(fresh_store, embedder, plan.to_run[0], heartbeat=heartbeat)
    final = heartbeat.beat()
    assert final.files_total == report.files_indexed == 7
    assert (final.files_parsed, final.files_done, final.chunks_encoded) == (7, 7, report.embeddings_computed)
    assert final.beats == len(seen) == 1 + 7 + len([b for b in seen if b.stage == ENCODING]) + 7
    assert [b.beats for b in seen] == sorted(b.beats for b in seen)  # progress only moves forward


def _frozen_child() -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    os.kill(child.pid, signal.SIGSTOP)
    return child


def test_the_watchdog_kills_a_frozen_step_and_says_where_it_was_stuck(tmp_path: Path) -> None:
    child = _frozen_child()
    path = heartbeat_path(tmp_path, "shop__0001")
    receive, send = os.pipe()
    with Heartbeat(path, "shop__0001") as beat:
        beat.begin(ENCODING, "shop/checkout.py")
        reason = watch(child.pid, path, stall_seconds=1.0, step_done=receive, poll_seconds=0.1)
    os.close(send)
    os.close(receive)
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert reason is not None
    assert reason.startswith(
        "no progress for 1 s while encoding shop/checkout.py (batch shop__0001, step pid "
    )


def test_the_watchdog_leaves_a_step_that_makes_progress_or_finishes(tmp_path: Path) -> None:
    child = _frozen_child()  # stands in for the step: must survive
    path = heartbeat_path(tmp_path, "shop__0001")
    receive, send = os.pipe()
    with Heartbeat(path, "shop__0001") as beat:
        stop = threading.Event()

        def work() -> None:
            for _ in range(20):  # two seconds of progress, then the batch is done
                if stop.wait(0.1):
                    return
                with beat.doing(PARSING, "a.py", files_parsed=1):
                    pass
            os.close(send)

        worker = threading.Thread(target=work)
        worker.start()
        reason = watch(child.pid, path, stall_seconds=0.5, step_done=receive, poll_seconds=0.05)
        stop.set()
        worker.join()
    os.close(receive)
    assert reason is None
    assert child.poll() is None
    child.kill()
    child.wait()
