"""A pass on Dagster's Celery executor: a real Redis broker on loopback, ``dagster-celery`` workers in
their own processes, the index and Dagster's storage in PostgreSQL reached by ``MNEMO_DATABASE_URL``.
The index it builds is the one a local pass builds."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
import yaml
from dagster import DagsterEventType, DagsterInstance, RunsFilter

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs import tags
from mnemo_dagster.defs.executors import BROKER_ENV, CELERY_EXECUTOR_CONFIG, EXECUTOR_ENV, select_executor
from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.launch.step_server import DAGSTER_STORAGE_ENV, DAGSTER_YAML
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.server import DatabaseUrls, resolve_urls
from mnemo_dagster.wiring import Wiring
from mnemo_dagster_tests.databases import new_database
from mnemo_dagster_tests.processes import stop_session
from mnemo_dagster_tests.rows import assert_same_index, index_rows

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"
REDIS_SERVER = shutil.which("redis-server")
WORKERS = ("mnemo-w1", "mnemo-w2")
STARTUP_SECONDS = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_url(tmp_path: Path) -> Iterator[str]:
    """A real Redis on loopback, with no persistence, for this test only."""
    if REDIS_SERVER is None:
        pytest.fail("redis-server is not installed (Debian: apt-get install -y redis-server)")
    port = _free_port()
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=(tmp_path / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_session(server, timeout=20)


@pytest.fixture
def celery_urls(urls: DatabaseUrls) -> Iterator[DatabaseUrls]:
    """A brand-new database of the session's server for the Celery pass (index and Dagster storage),
    not the one of ``fresh_wiring``."""
    with new_database(urls) as celery:
        yield resolve_urls(Settings.from_env().replace(database_url=celery.libpq))


def _engine_env(celery_urls: DatabaseUrls, broker_url: str, dagster_home: Path) -> dict[str, str]:
    """The environment every process of the engine shares: orchestrator and workers alike."""
    return {
        **os.environ,
        # `dagster-celery worker start` runs the `celery` command it finds on PATH.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "MNEMO_DATABASE_URL": celery_urls.libpq,
        EXECUTOR_ENV: "celery",
        BROKER_ENV: broker_url,
        "DAGSTER_HOME": str(dagster_home),
        DAGSTER_STORAGE_ENV: celery_urls.dagster,
    }


def _wait_for_workers(broker_url: str, workers: list[subprocess.Popen[bytes]]) -> None:
    """Until every worker answers a ping through the broker (their imports take seconds)."""
    from dagster_celery.make_app import make_app

    app = make_app({"broker": broker_url, "backend": broker_url})
    expected = {f"{name}@{socket.gethostname()}" for name in WORKERS}
    deadline = time.monotonic() + STARTUP_SECONDS
    answered: set[str] = set()
    while answered != expected:
        assert all(w.poll() is None for w in workers), "a worker exited during start-up"
        assert time.monotonic() < deadline, f"workers not ready after {STARTUP_SECONDS} s: {answered}"
        answered |= {name for reply in app.control.ping(timeout=1.0) for name in reply}


@pytest.fixture
def workers(
    tmp_path: Path, celery_urls: DatabaseUrls, broker_url: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two ``dagster-celery worker start`` processes, one pool process each, torch preloaded."""
    dagster_home = tmp_path / "dagster-home"
    dagster_home.mkdir()
    shutil.copyfile(DAGSTER_YAML, dagster_home / "dagster.yaml")
    config = tmp_path / "celery.yaml"
    config.write_text(yaml.safe_dump({"execution": {"config": CELERY_EXECUTOR_CONFIG}}))
    env = _engine_env(celery_urls, broker_url, dagster_home)
    command = [sys.executable, "-m", "dagster_celery.cli", "worker", "start", "-A", "dagster_celery.app"]
    options = ["-y", str(config), "-i", "mnemo_dagster.defs.step_preload", "-l", "WARNING"]
    started = []
    try:
        for name in WORKERS:
            started.append(
                subprocess.Popen(
                    [*command, *options, "-n", name, "--", "--concurrency", "1"],
                    env=env,
                    stdout=(tmp_path / f"{name}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait_for_workers(broker_url, started)
        yield started
    finally:
        for process in started:
            stop_session(process, timeout=20)


def _step_processes(instance: DagsterInstance, repository: str) -> dict[str, tuple[str, int]]:
    """Batch key -> (Celery worker, pid) of the process that ran its ``code_chunks`` step."""
    ran: dict[str, tuple[str, int]] = {}
    for record in instance.get_run_records(RunsFilter(tags={tags.REPOSITORY: repository})):
        run = record.dagster_run
        if run.job_name != "index_batches_job":
            continue
        engine = instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
        worker = next(
            entry.dagster_event.event_specific_data.metadata["Celery worker"].value
            for entry in engine
            if "in celery worker" in entry.message
        )
        (start,) = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
        ran[run.tags[tags.PARTITION]] = (worker, start.dagster_event.pid)
    return ran


def test_the_engine_is_chosen_by_mnemo_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    assert select_executor().name == "multiprocess"
    monkeypatch.setenv(EXECUTOR_ENV, "Celery")
    assert select_executor().name == "mnemo_celery"
    monkeypatch.setenv(EXECUTOR_ENV, "dask")
    with pytest.raises(ConfigError, match="MNEMO_EXECUTOR must be one of multiprocess, celery, got 'dask'"):
        select_executor()


@pytest.mark.slow
def test_batches_run_on_celery_workers_and_build_the_same_index_as_a_local_pass(
    tmp_path: Path,
    celery_urls: DatabaseUrls,
    broker_url: str,
    workers: list[subprocess.Popen[bytes]],
    fresh_wiring: Wiring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = tmp_path / "scaled"
    shutil.copytree(SAMPLE, repo)
    env = _engine_env(celery_urls, broker_url, tmp_path / "dagster-home")
    command = [sys.executable, "-m", "mnemo_dagster.cli", "index", str(repo), "--json", "--batch-size", "3"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["batches"] == {"total": 3, "run": 3, "failed": 0, "failed_keys": []}

    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    monkeypatch.setenv(DAGSTER_STORAGE_ENV, env[DAGSTER_STORAGE_ENV])
    with DagsterInstance.get() as instance:
        ran = _step_processes(instance, "scaled")
    pool_pids = {child.pid for w in workers for child in psutil.Process(w.pid).children(recursive=True)}
    assert sorted(ran) == ["scaled__0001", "scaled__0002", "scaled__0003"]
    hosts = {f"{name}@{socket.gethostname()}" for name in WORKERS}
    for key, (worker, pid) in ran.items():
        assert worker in hosts, key
        assert pid in pool_pids, key  # a worker's pool process, not the `mnemo index` process

    local = tmp_path / "local" / "scaled"  # the same name, in another database
    shutil.copytree(SAMPLE, local)
    assert run_pass(fresh_wiring, local, InProcessRunner(fresh_wiring), batch_size=3).ok
    celery_store = IndexStore(celery_urls.index)
    try:
        scaled = index_rows(celery_store, "scaled")
    finally:
        celery_store.dispose()
    assert len(scaled["chunks"]) == summary["chunks"]["total"] > 0 and len(scaled["edges"]) > 0
    assert_same_index(scaled, index_rows(fresh_wiring.store, "scaled"))
