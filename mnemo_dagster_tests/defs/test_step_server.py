"""The step server starts before the database when Dagster's storage URL is known in advance, and a
server started with a storage URL that turned out wrong is replaced."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import psutil
import pytest
from sqlalchemy.engine import make_url

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.launch.step_server import (
    DAGSTER_STORAGE_ENV,
    step_server_pid,
    warm_before_database,
    warm_step_server,
)
from mnemo_dagster.store.server import (
    DatabaseUrls,
    embedded_server_cpu_seconds,
    predicted_urls,
    resolve_urls,
    stop_embedded_server,
)


def test_a_running_embedded_server_is_predicted_exactly(urls: DatabaseUrls) -> None:
    assert predicted_urls(Settings.from_env()) == urls


def test_the_embedded_servers_cpu_counts_its_backends_work(urls: DatabaseUrls, tmp_path: Path) -> None:
    import sqlalchemy as sa

    before = embedded_server_cpu_seconds(urls.embedded_data_dir)
    engine = sa.create_engine(urls.index)
    try:
        with engine.connect() as conn:  # a backend that works for a while (counted while it lives)
            conn.execute(sa.text("SELECT count(*) FROM generate_series(1, 3000000) AS n WHERE n % 7 = 0"))
            assert embedded_server_cpu_seconds(urls.embedded_data_dir) - before > 0.1
    finally:
        engine.dispose()
    assert embedded_server_cpu_seconds(None) == 0.0  # an external server
    assert embedded_server_cpu_seconds(tmp_path) == 0.0  # no server there


def test_a_new_embedded_server_is_predicted_to_listen_in_its_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MNEMO_HOME", str(home))
    settings = Settings.from_env()
    predicted = predicted_urls(settings)
    assert predicted is not None
    assert make_url(predicted.dagster).query["host"] == str((home / "pgdata").resolve())
    try:
        assert resolve_urls(settings) == predicted  # starts the server
    finally:
        stop_embedded_server(home / "pgdata")


def test_a_socket_path_too_long_to_predict_waits_for_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNEMO_HOME", str(tmp_path / ("h" * 110)))
    assert predicted_urls(Settings.from_env()) is None  # pgserver then picks another directory


def _storage_url_of_a_step(replies: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    replies.put(os.environ.get(DAGSTER_STORAGE_ENV))


def _step_sees() -> str | None:
    """What a process forked from the step server finds in its environment (as a step would)."""
    context = multiprocessing.get_context("forkserver")
    replies = context.Queue()
    child = context.Process(target=_storage_url_of_a_step, args=(replies,))
    child.start()
    seen = replies.get(timeout=120)
    child.join(timeout=30)
    return seen


@pytest.mark.slow
def test_the_step_server_is_replaced_when_dagster_storage_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        monkeypatch.setenv(DAGSTER_STORAGE_ENV, "postgresql+psycopg2://postgres:@/dagster?host=/first")
        warm_step_server()
        first = step_server_pid()
        assert first is not None
        warm_step_server()  # same environment: the same server
        assert step_server_pid() == first

        monkeypatch.setenv(DAGSTER_STORAGE_ENV, "postgresql+psycopg2://postgres:@/dagster?host=/second")
        warm_step_server()  # the first is still importing: stopped at once, not after its imports
        assert step_server_pid() != first
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert _step_sees() == "postgresql+psycopg2://postgres:@/dagster?host=/second"
    finally:
        monkeypatch.undo()
        warm_step_server()  # the session's environment again, for the tests that follow


@pytest.mark.slow
def test_mnemo_index_starts_the_step_server_before_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MNEMO_HOME", str(home))
    # prepare_dagster_home sets these two; registered here so that undo() restores them
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv(DAGSTER_STORAGE_ENV, "")
    settings = Settings.from_env()
    try:
        assert warm_before_database(settings)
        assert not (home / "pgdata" / "postmaster.pid").exists()  # no database yet
        assert step_server_pid() is not None
        urls = resolve_urls(settings)  # the database starts where it was predicted to
        assert _step_sees() == urls.dagster
    finally:
        stop_embedded_server(home / "pgdata")
        monkeypatch.undo()
        warm_step_server()
