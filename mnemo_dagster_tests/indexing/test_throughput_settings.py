"""Device, dtype and worker settings, and what runs first in a pass."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from mnemo_dagster.config.settings import (
    Settings,
    default_batch_bytes,
    default_workers,
    gpu_visible,
    parse_processes,
)
from mnemo_dagster.embedding import (
    SentenceTransformerEmbedder,
    cpu_has_native_bf16,
    default_torch_threads,
    resolve_device,
    resolve_dtype,
)
from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.heartbeat import Beat, Heartbeat, heartbeat_path
from mnemo_dagster.indexing.passes import PROGRESS_POLL_SECONDS, PassObserver, run_batches
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster_tests.defs.waiting import wait_until

GIB = 1024**3
SAPPHIRE_RAPIDS = "processor : 0\nflags : fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
EPYC_ROME = "processor : 0\nflags : fpu sse2 avx2 sha_ni\n"


def test_native_bf16_is_read_from_the_cpu_flags() -> None:
    assert cpu_has_native_bf16(SAPPHIRE_RAPIDS)
    assert not cpu_has_native_bf16(EPYC_ROME)
    assert not cpu_has_native_bf16("")


@pytest.mark.parametrize(
    ("requested", "cuda", "native_bf16", "device", "dtype"),
    [
        ("auto", True, False, "cuda", "float16"),
        ("auto", False, True, "cpu", "bfloat16"),
        ("auto", False, False, "cpu", "float32"),
        ("cpu", True, True, "cpu", "bfloat16"),
    ],
)
def test_auto_picks_the_gpu_in_float16_and_bf16_only_where_the_cpu_has_it(
    requested: str, cuda: bool, native_bf16: bool, device: str, dtype: str
) -> None:
    chosen = resolve_device(requested, cuda_available=cuda)
    assert (chosen, resolve_dtype("auto", chosen, native_bf16)) == (device, dtype)
    assert resolve_dtype("float32", chosen, native_bf16) == "float32"  # an explicit choice stands


def test_asking_for_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="sees no CUDA device"):
        resolve_device("cuda", cuda_available=False)


def test_auto_falls_back_to_the_cpu_where_torch_sees_no_gpu() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    auto = SentenceTransformerEmbedder(device="auto", dtype="auto", threads=1)
    reference = SentenceTransformerEmbedder(device="cpu", dtype="float32")
    texts = ["def parse_price(text):\n    return float(text)", "class Cart:\n    pass"]
    vectors = auto.encode(texts)
    assert auto.device == "cpu"
    assert auto.dtype == ("bfloat16" if cpu_has_native_bf16() else "float32")
    assert torch.get_num_threads() == 1
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * reference.encode(texts)).sum(axis=1)
    assert cosines.min() > 0.99
    with pytest.raises(ConfigError, match="sees no CUDA device"):
        SentenceTransformerEmbedder(device="cuda").encode(["x"])
    torch.set_num_threads(os.cpu_count() or 1)


def test_embedders_of_one_model_share_its_load_and_each_applies_its_threads() -> None:
    import torch

    first = SentenceTransformerEmbedder(device="cpu", dtype="float32", threads=1)
    first.load()
    assert torch.get_num_threads() == 1
    second = SentenceTransformerEmbedder(device="cpu", dtype="float32", threads=2)
    second.load()
    assert second.model is first.model  # loaded once per process (or by the fork server)
    assert (second.device, second.dtype, second.batch_size) == (first.device, first.dtype, first.batch_size)
    assert torch.get_num_threads() == 2
    half = SentenceTransformerEmbedder(device="cpu", dtype="bfloat16")
    assert half.model is not first.model  # another dtype is another model
    torch.set_num_threads(os.cpu_count() or 1)


def test_each_embedder_encodes_on_its_own_threads_whatever_another_set() -> None:
    # torch's thread count belongs to the process: the resident service's query model sets one thread,
    # and a pass in the same process must still embed on its own count.
    import torch

    query = SentenceTransformerEmbedder(device="cpu", dtype="float32", threads=1)
    two = SentenceTransformerEmbedder(device="cpu", dtype="float32", threads=2)
    default = SentenceTransformerEmbedder(device="cpu", dtype="float32")
    try:
        two.load()
        query.encode(["retry with backoff"])
        assert torch.get_num_threads() == 1
        two.encode(["def retry(): ..."])
        assert torch.get_num_threads() == 2
        query.encode(["retry with backoff"])
        default.encode(["def retry(): ..."])
        assert torch.get_num_threads() == default_torch_threads()
    finally:
        torch.set_num_threads(os.cpu_count() or 1)


def test_only_a_local_model_on_the_cpu_is_loaded_before_forking() -> None:
    import torch

    assert not SentenceTransformerEmbedder("some-org/some-hub-model").preload()  # nothing is fetched
    assert not SentenceTransformerEmbedder(device="cuda").preload()  # no CUDA context before a fork
    local_cpu = SentenceTransformerEmbedder(device="cpu", dtype="float32")
    assert local_cpu.preload()
    assert local_cpu.loaded
    auto = SentenceTransformerEmbedder(device="auto")
    assert auto.preload() is (not torch.backends.cuda.is_built())


def test_settings_read_device_dtype_and_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MNEMO_EMBEDDING_DEVICE", "cpu")
    monkeypatch.setenv("MNEMO_EMBEDDING_DTYPE", "float32")
    monkeypatch.setenv("MNEMO_WORKERS", "3")
    settings = Settings.from_env()
    assert (settings.embedding_device, settings.embedding_dtype, settings.workers) == ("cpu", "float32", 3)
    assert settings.torch_threads == max(1, len(os.sched_getaffinity(0)) // 3)
    for name, value, message in [
        ("MNEMO_EMBEDDING_DEVICE", "tpu", "MNEMO_EMBEDDING_DEVICE must be one of auto, cpu, cuda"),
        ("MNEMO_EMBEDDING_DTYPE", "int8", "MNEMO_EMBEDDING_DTYPE must be one of auto, bfloat16"),
        ("MNEMO_EMBEDDING_DTYPE", "float16", "float16 needs a GPU"),
        ("MNEMO_WORKERS", "0", "MNEMO_WORKERS must be positive"),
        ("MNEMO_WORKERS", "many", "MNEMO_WORKERS must be an integer"),
    ]:
        with monkeypatch.context() as patch:
            patch.setenv(name, value)
            with pytest.raises(ConfigError, match=message):
                Settings.from_env()


def test_default_workers_follow_cores_and_memory() -> None:
    assert default_workers(cores=2, memory_bytes=24 * GIB) == 1
    assert default_workers(cores=16, memory_bytes=128 * GIB) == 4
    assert default_workers(cores=64, memory_bytes=8 * GIB) == 4  # memory bounds it
    assert default_workers(cores=16, memory_bytes=1 * GIB) == 1


def test_parse_processes_serve_a_gpu_and_a_thread_serves_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNEMO_PARSE_PROCESSES", raising=False)
    assert parse_processes("cpu", cores=64) == 0  # the model needs the cores: parse in a thread
    assert parse_processes("cuda", cores=2) == 1
    assert parse_processes("cuda", cores=16) == 4
    assert parse_processes("cuda", cores=128) == 4
    assert Settings.from_env().parse_processes is None
    monkeypatch.setenv("MNEMO_PARSE_PROCESSES", "2")
    assert parse_processes("cpu", cores=2, configured=Settings.from_env().parse_processes) == 2
    monkeypatch.setenv("MNEMO_PARSE_PROCESSES", "0")
    assert parse_processes("cuda", cores=16, configured=Settings.from_env().parse_processes) == 0
    monkeypatch.setenv("MNEMO_PARSE_PROCESSES", "-1")
    with pytest.raises(ConfigError, match="MNEMO_PARSE_PROCESSES must be 0 or a positive integer"):
        Settings.from_env()


def test_batches_are_larger_for_a_model_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    mib = 1024 * 1024
    assert default_batch_bytes("cpu", gpu=True) == 2 * mib
    assert default_batch_bytes("cuda") == 16 * mib  # each GPU step loads the model onto the device
    assert default_batch_bytes("auto", gpu=True) == 16 * mib
    assert default_batch_bytes("auto", gpu=False) == 2 * mib
    import torch

    if not torch.cuda.is_available():  # judged without torch, and the same answer as torch's
        assert gpu_visible() is False
        monkeypatch.delenv("MNEMO_BATCH_BYTES", raising=False)
        monkeypatch.setenv("MNEMO_EMBEDDING_DEVICE", "auto")
        assert Settings.from_env().batch_bytes == 2 * mib
    monkeypatch.setenv("MNEMO_EMBEDDING_DEVICE", "cuda")
    assert Settings.from_env().batch_bytes == 16 * mib
    monkeypatch.setenv("MNEMO_BATCH_BYTES", str(3 * mib))
    assert Settings.from_env().batch_bytes == 3 * mib


def test_the_target_device_is_known_before_the_model_loads() -> None:
    import torch

    auto = SentenceTransformerEmbedder("some-org/not-loaded", device="auto")
    assert auto.target_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert auto.device == "auto"  # nothing was loaded to find out (a load resolves the device)
    assert SentenceTransformerEmbedder("some-org/not-loaded", device="cpu").target_device() == "cpu"


def test_the_batch_with_the_newest_edit_runs_first(fresh_store: IndexStore, tmp_path: Path) -> None:
    for n in range(6):
        (tmp_path / f"m{n}.py").write_text(f"def f{n}():\n    return {n}\n")
        os.utime(tmp_path / f"m{n}.py", ns=(10**18, 10**18 + n))
    first = plan_pass(fresh_store, "r", tmp_path, max_file_bytes=10**6, max_files=2)
    # Batches are filled in path order (so they stay stable), and run newest first.
    assert first.to_run == ("r__0003", "r__0002", "r__0001")
    assert fresh_store.files.stored("r")["m5.py"].batch_key == "r__0003"
    # Nothing indexed yet; an edit of the oldest file moves its batch to the front.
    os.utime(tmp_path / "m0.py", ns=(10**18, 10**18 + 100))
    (tmp_path / "m0.py").write_text("def f0():\n    return 'edited'\n")
    os.utime(tmp_path / "m0.py", ns=(10**18, 10**18 + 100))
    again = plan_pass(fresh_store, "r", tmp_path, max_file_bytes=10**6)
    assert again.to_run == ("r__0001", "r__0003", "r__0002")


class _Runner:
    """Records how many batches ran at once (a narrow stand-in: the real runners are tested elsewhere)."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self.running = 0
        self.most = 0
        self.started = 0
        self.lock = threading.Lock()
        self.first = threading.Barrier(max_workers, timeout=60)
        """The first ``max_workers`` batches wait for each other: they run at once, or the wait fails."""

    def run_batch(self, repository: str, key: str) -> BatchReport:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started += 1
            first = self.started <= self.max_workers
        if first:
            self.first.wait()
        with self.lock:
            self.running -= 1
        return BatchReport(key, success=key != "r__0003")


class _Order(PassObserver):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.done: list[str] = []

    def batch_started(self, key: str, position: int) -> None:
        self.started.append(key)

    def batch_done(self, outcome: BatchReport, position: int) -> None:
        self.done.append(outcome.key)


@pytest.mark.parametrize(("workers", "most"), [(1, 1), (3, 3)])
def test_batches_run_up_to_workers_at_once_and_keep_their_order(
    workers: int, most: int, tmp_path: Path
) -> None:
    keys = [f"r__{n:04d}" for n in range(1, 8)]
    runner, observer = _Runner(workers), _Order()
    outcomes = run_batches(runner, "r", keys, observer, workers, tmp_path)  # type: ignore[arg-type]
    assert [o.key for o in outcomes] == keys
    assert [o.success for o in outcomes] == [True, True, False, True, True, True, True]
    assert runner.most == most
    assert sorted(observer.done) == keys and observer.started[:workers] == keys[:workers]


class _Beats(PassObserver):
    def __init__(self) -> None:
        self.beats: list[tuple[str, int, int]] = []

    def batch_progress(self, beat: Beat, position: int) -> None:
        self.beats.append((beat.batch, position, beat.files_done))


class _Beating:
    """A runner whose batch writes its heartbeat, as a step does, then runs until the pass has handed
    the ``observer`` a beat with both files done (it may hand earlier ones too, read mid-batch)."""

    max_workers = 1

    def __init__(self, home: Path, observer: _Beats) -> None:
        self.home = home
        self.observer = observer

    def run_batch(self, repository: str, key: str) -> BatchReport:
        time.sleep(3 * PROGRESS_POLL_SECONDS)  # the step starts (the pass may see the stale beat meanwhile)
        with Heartbeat(heartbeat_path(self.home, key), key, files_total=3) as beat:
            for path in ("a.py", "b.py"):
                with beat.doing("writing", path, files_done=1):
                    pass
            wait_until(
                lambda: ("r__0001", 0, 2) in self.observer.beats, "the pass to hand its observer a beat"
            )
        return BatchReport(key, success=True, files_indexed=3)


def test_a_pass_hands_its_observer_the_running_batch_heartbeat(tmp_path: Path) -> None:
    path = heartbeat_path(tmp_path, "r__0001")
    path.parent.mkdir(parents=True)
    an_hour_ago = time.time() - 3600  # a beat left by a killed attempt is not this run's
    path.write_text(json.dumps(asdict(Beat("r__0001", 1, an_hour_ago, an_hour_ago, 9, files_done=7))))
    observer = _Beats()
    runner = _Beating(tmp_path, observer)
    run_batches(runner, "r", ["r__0001"], observer, 1, tmp_path)  # type: ignore[arg-type]
    # every beat handed is this run's (never the killed attempt's 7 files), and progress only grows
    assert observer.beats[-1] == ("r__0001", 0, 2)
    done = [files for _, _, files in observer.beats]
    assert set(done) <= {0, 1, 2} and done == sorted(done)
