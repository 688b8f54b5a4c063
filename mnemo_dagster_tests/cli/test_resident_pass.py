"""``mnemo index`` hands a small pass to the resident service (:mod:`mnemo_dagster.launch.resident_pass`):
a real service process with the real model and Dagster, a real ``mnemo`` command, the sample
repository in a database of its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

from mnemo_dagster import models
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs import tags
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.planning import PassPlan
from mnemo_dagster.indexing.resident import DeclinedError, pass_request
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.launch.resident_pass import PassHost
from mnemo_dagster.launch.runner import DagsterRunner
from mnemo_dagster.launch.step_server import prepare_dagster_home
from mnemo_dagster.retrieval.service import (
    REQUEST_READ_SECONDS,
    pass_via_service,
    search_via_service,
    service_paths,
    start_service,
)
from mnemo_dagster.store.server import DatabaseUrls, resolve_urls
from mnemo_dagster.wiring import Wiring
from mnemo_dagster_tests.databases import new_database

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"
ADDED = (
    '\n\ndef fold_tildes(value):\n    """Collapse doubled tildes in a resident probe string."""\n'
    '    return value.replace("~~", "~")\n'
)


@pytest.fixture
def service(
    urls: DatabaseUrls,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[dict[str, str], Path]]:
    """The sample repository indexed as ``shop``, and a resident service of its index started as
    ``mnemo index`` starts it; the command's environment and the repository. Parametrized indirectly,
    the embedding dtype its passes are forced to."""
    with new_database(urls) as shop:
        env = {
            **{key: value for key, value in os.environ.items() if key not in ("DAGSTER_HOME",)},
            "MNEMO_DATABASE_URL": shop.libpq,
            "MNEMO_HOME": str(tmp_path / "home"),
            "MNEMO_SEARCH_SERVICE": "1",
            "MNEMO_SEARCH_IDLE_SECONDS": "120",
            "MNEMO_EMBEDDING_DTYPE": getattr(request, "param", None)
            or os.environ.get("MNEMO_EMBEDDING_DTYPE", "auto"),
        }
        monkeypatch.delenv("DAGSTER_HOME", raising=False)
        for key in ("MNEMO_DATABASE_URL", "MNEMO_HOME", "MNEMO_SEARCH_SERVICE", "MNEMO_SEARCH_IDLE_SECONDS"):
            monkeypatch.setenv(key, env[key])
        monkeypatch.setenv("MNEMO_EMBEDDING_DTYPE", env["MNEMO_EMBEDDING_DTYPE"])
        settings = Settings.from_env()
        wiring = Wiring(settings, resolve_urls(settings))
        wiring.embedder = embedder
        repo = tmp_path / "shop"
        shutil.copytree(SAMPLE, repo)
        assert run_pass(wiring, repo, InProcessRunner(wiring), name="shop").ok
        wiring.close()
        # Started as the directory sensor starts it: from a process that ignores SIGINT and SIGTERM
        # (Dagster's code server), which the service must not inherit (the teardown stops it).
        ignored = signal.signal(signal.SIGTERM, signal.SIG_IGN), signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            start_service(settings, passes=True, env=env)
        finally:
            signal.signal(signal.SIGTERM, ignored[0])
            signal.signal(signal.SIGINT, ignored[1])
        paths = service_paths(settings)
        try:
            deadline = time.monotonic() + 240
            while "listening on" not in (paths.log.read_text() if paths.log.exists() else ""):
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
            yield env, repo
        finally:
            for pid in re.findall(r"search service (\d+) listening", paths.log.read_text()):
                try:
                    psutil.Process(int(pid)).terminate()
                    psutil.Process(int(pid)).wait(30)  # psutil.TimeoutExpired: SIGTERM was ignored
                except psutil.NoSuchProcess:
                    pass


@contextmanager
def _run_history(
    env: dict[str, str], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DagsterInstance]:
    """The Dagster instance whose run history the service's passes write to (``DAGSTER_HOME`` and the
    storage URL are set for it here, and restored after the test)."""
    for key in ("DAGSTER_HOME", "MNEMO_DAGSTER_STORAGE_URL"):
        current = os.environ.get(key)
        monkeypatch.setenv(key, "")  # recorded as it was (set or not), and restored so after the test
        if current is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, current)
    prepare_dagster_home(Path(env["MNEMO_HOME"]), resolve_urls(settings).dagster)
    with DagsterInstance.get() as instance:
        yield instance


def _service_pid(settings: Settings) -> int:
    return int(re.findall(r"search service (\d+) listening", service_paths(settings).log.read_text())[-1])


@pytest.mark.slow
def test_a_small_pass_runs_in_the_service_as_dagster_runs_and_is_searchable_at_once(
    service: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, repo = service
    settings = Settings.from_env()
    with (repo / "shop" / "retry.py").open("a") as handle:
        handle.write(ADDED)

    command = [str(Path(sys.executable).parent / "mnemo"), "index", str(repo), "--name", "shop", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] and summary["batches"]["run"] == 1 and summary["graph"]["rebuilt"]
    assert summary["files"]["unchanged"] > 0 and summary["chunks"]["embedded"] >= 1
    hits = search_via_service(settings, {"query": "collapse doubled tildes", "limit": 1})
    assert hits is not None and hits["hits"][0]["qualified_name"] == "shop/retry.py::fold_tildes"

    # The pass is in Dagster's run history as any pass is: a batch run and a graph run, tagged with
    # the repository, their steps executed by the service's process.
    with _run_history(env, settings, monkeypatch) as instance:
        records = instance.get_run_records(RunsFilter(tags={tags.REPOSITORY: "shop"}), limit=2)
        runs = {r.dagster_run.job_name: r.dagster_run for r in records}
    assert set(runs) == {"index_batches_job", "graph_job"}
    assert all(run.status.value == "SUCCESS" for run in runs.values())
    assert {run.tags[tags.PID] for run in runs.values()} == {str(_service_pid(settings))}
    assert {run.tags[tags.LAUNCHED_BY] for run in runs.values()} == {tags.SERVICE}
    assert runs["graph_job"].tags[tags.PARTITION] == "shop"


@pytest.mark.slow
@pytest.mark.parametrize(
    "service",
    # float32: the pass's model is the query model's own object (on a CPU without native bfloat16 too);
    # bfloat16: a second model beside it (where the CPU has it natively, as most servers do).
    ["float32", "bfloat16"],
    indirect=True,
)
def test_a_search_is_answered_while_the_service_runs_a_pass(
    service: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, repo = service
    settings = Settings.from_env()
    for n in range(40):  # a pass with seconds of work: 40 new files to parse, embed and write
        functions = (
            f'def probe_{n}_{k}(value):\n    """Scale a probe reading by {k}."""\n    return value * {k}\n'
            for k in range(6)
        )
        (repo / "shop" / f"probe_{n}.py").write_text("\n\n".join(functions))
    answers: dict[str, object] = {}
    running = threading.Thread(
        target=lambda: answers.update(summary=pass_via_service(settings, pass_request(repo, "shop", None)))
    )
    running.start()
    try:
        with _run_history(env, settings, monkeypatch) as instance:
            started = RunsFilter(tags={tags.REPOSITORY: "shop"}, statuses=[DagsterRunStatus.STARTED])
            deadline = time.monotonic() + 120
            while not instance.get_run_records(started, limit=1):
                assert running.is_alive() and time.monotonic() < deadline, "the pass never started a run"
                time.sleep(0.05)
        asked = time.monotonic()
        hits = search_via_service(settings, {"query": "retry with exponential backoff", "limit": 1})
        waited, passing = time.monotonic() - asked, running.is_alive()
    finally:
        running.join(300)

    assert hits is not None and hits["hits"][0]["qualified_name"].startswith("shop/retry.py::")
    assert passing, f"the search waited {waited:.1f} s, until the pass had ended"
    summary = answers["summary"]
    assert isinstance(summary, dict) and summary["ok"] and summary["chunks"]["embedded"] >= 40 * 6


@pytest.mark.slow
def test_a_client_that_sends_nothing_neither_blocks_the_service_nor_holds_it_for_long(
    service: tuple[dict[str, str], Path],
) -> None:
    settings = Settings.from_env()
    paths = service_paths(settings)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.connect(str(paths.socket))
        hits = search_via_service(settings, {"query": "retry with exponential backoff", "limit": 1})
        assert hits is not None and hits["hits"][0]["qualified_name"].startswith("shop/retry.py::")
        silent.settimeout(REQUEST_READ_SECONDS + 30)
        assert silent.recv(1) == b""  # closed by the service, which waits no longer for it
    assert f"a client sent no request in {REQUEST_READ_SECONDS:g} s" in paths.log.read_text()


@pytest.mark.slow
def test_the_service_declines_another_environment_and_a_pass_too_large(
    service: tuple[dict[str, str], Path],
) -> None:
    _, repo = service
    settings = Settings.from_env()
    (repo / "shop" / "retry.py").write_text((repo / "shop" / "retry.py").read_text() + ADDED)

    other = pass_request(repo, "shop", None)
    other["environment"] = {**other["environment"], "MNEMO_MAX_FILE_BYTES": "1000"}
    assert pass_via_service(settings, other) is None  # the command runs it itself, with its settings
    assert (
        search_via_service(settings, {"query": "collapse doubled tildes", "limit": 1})["hits"][0][
            "qualified_name"
        ]
        != "shop/retry.py::fold_tildes"
    )  # nothing was indexed

    assert pass_via_service(settings, pass_request(repo, "shop", None)) is not None  # the same, from here


def test_a_runner_with_a_file_limit_declines_a_larger_plan_before_any_batch() -> None:
    plan = PassPlan(
        "shop",
        batches=(),
        to_run=(),
        removed=(),
        files_new_or_changed=3,
        files_unchanged=0,
        files_deleted=2,
        files_skipped=0,
        files_to_index=3,
    )
    with DagsterInstance.ephemeral() as instance:
        runner = DagsterRunner(instance, heartbeat=False, in_process=True, max_files=4)
        with pytest.raises(DeclinedError, match="5 files to index or delete, more than 4"):
            runner.prepare(plan)
        DagsterRunner(instance, heartbeat=False, in_process=True, max_files=5).prepare(plan)


@pytest.mark.slow
def test_the_service_stops_when_told_though_its_starter_ignored_sigterm(
    service: tuple[dict[str, str], Path],
) -> None:
    process = psutil.Process(_service_pid(Settings.from_env()))
    process.terminate()
    assert process.wait(30) is not None or not process.is_running()  # psutil.TimeoutExpired: ignored


def test_a_service_under_celery_leaves_the_pass_to_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNEMO_EXECUTOR", "celery")
    host = PassHost(Settings.from_env())
    with pytest.raises(DeclinedError, match="celery executor"):
        host.run(pass_request(tmp_path, "shop", None))
    monkeypatch.setenv("MNEMO_EXECUTOR", "multiprocess")  # and a request from other settings
    with pytest.raises(DeclinedError, match="settings are not the service's"):
        host.run(pass_request(tmp_path, "shop", None))


def test_the_sensor_starts_a_missing_service_at_most_every_few_minutes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mnemo_dagster.retrieval import service as resident

    monkeypatch.setenv("MNEMO_HOME", str(tmp_path))
    monkeypatch.setenv("MNEMO_SEARCH_SERVICE", "1")
    started: list[bool] = []
    monkeypatch.setattr(
        resident, "start_service", lambda settings, passes: started.append(passes)
    )  # dies at once
    monkeypatch.setattr(resident, "_last_start", -resident.RESTART_SECONDS)
    settings = Settings.from_env()
    for _ in range(3):  # three ticks: the one that started it, then two that leave it alone
        resident.keep_service_warm(settings)
    assert started == [True]
    monkeypatch.setattr(resident, "_last_start", time.monotonic() - resident.RESTART_SECONDS)
    resident.keep_service_warm(settings)
    assert started == [True, True]
    assert not resident.keep_service_warm(settings.replace(search_service=False))


@pytest.mark.slow
def test_the_service_exits_once_mnemos_code_changes(service: tuple[dict[str, str], Path]) -> None:
    # An upgraded or edited install gets a service of its own (its socket is named by the code's
    # stamp); the old one must not linger with its model loaded until it is idle.
    settings = Settings.from_env()
    log, process = service_paths(settings).log, psutil.Process(_service_pid(settings))
    module = Path(models.__file__)
    before = module.stat()
    os.utime(module, ns=(before.st_atime_ns, time.time_ns() + 3600 * 10**9))  # the newest module
    try:
        process.wait(60)  # psutil.TimeoutExpired: it kept serving old code
    finally:
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "mnemo's code changed: exiting" in log.read_text()
