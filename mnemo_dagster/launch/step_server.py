"""The environment of Dagster's instance, and the multiprocess executor's step server.

Steps fork from a server process that has already imported torch, sentence-transformers and the
model (:data:`~mnemo_dagster.defs.executors.STEP_PRELOAD_MODULES`, ~7 s on one core). A step inherits
the server's environment, not that of the process that runs the job, so the server may only start once
the environment names Dagster's storage. ``mnemo index`` starts it before anything else
(:func:`warm_before_database`) whenever the storage URL is known in advance, so the server's imports
overlap with the command's own imports, the database's start and the scan.

No Dagster import here: the command reaches this module before it loads Dagster.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import re
import signal
from pathlib import Path

import psutil

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs.executors import MULTIPROCESS, STEP_PRELOAD_MODULES, executor_name
from mnemo_dagster.store.server import predicted_urls

DAGSTER_STORAGE_ENV = "MNEMO_DAGSTER_STORAGE_URL"
STEP_SESSION_MODULE = "mnemo_dagster.launch.step_session"
"""Imported first by the server started here: a session of its own (see the module)."""
DAGSTER_YAML = Path(__file__).with_name("dagster.yaml")

_server_env: tuple[str | None, str | None] | None = None
"""Dagster's storage URL and home as the running step server got them (None: not started here)."""


def dagster_yaml(workers: int = 1) -> str:
    """The instance settings, with the daemon's queue running ``workers`` runs at once (the same
    ``MNEMO_WORKERS`` that ``mnemo index`` runs batches with)."""
    text = DAGSTER_YAML.read_text()
    return re.sub(r"(?m)^(\s*max_concurrent_runs:) \d+$", rf"\g<1> {workers}", text, count=1)


def prepare_dagster_home(mnemo_home: Path, storage_url: str, workers: int = 1) -> Path:
    """Point Dagster at ``$MNEMO_HOME/dagster`` (unless DAGSTER_HOME is set) and at its Postgres storage,
    writing its ``dagster.yaml`` (:func:`dagster_yaml`)."""
    os.environ[DAGSTER_STORAGE_ENV] = storage_url
    home = Path(os.environ.get("DAGSTER_HOME") or mnemo_home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    text = dagster_yaml(workers)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def warm_step_server() -> None:
    """Start the executor's step server now, in the background, with the current environment.

    The multiprocess executor reuses a running server. One started here with another storage URL or
    Dagster home (a prediction that turned out wrong) is stopped and started again: its steps would
    reach the wrong storage. Other engines run steps elsewhere: nothing to start.
    """
    global _server_env
    if executor_name() != MULTIPROCESS:
        return
    env = (os.environ.get(DAGSTER_STORAGE_ENV), os.environ.get("DAGSTER_HOME"))
    if _server_env is not None and _server_env != env:
        _stop_step_server()
    # The resource tracker (started with the server) warns at exit about the semaphores of a step
    # that was killed (Ctrl-C, a stall), although it then removes them itself.
    os.environ.setdefault("PYTHONWARNINGS", "ignore::UserWarning:multiprocessing.resource_tracker")
    multiprocessing.set_forkserver_preload([STEP_SESSION_MODULE, *STEP_PRELOAD_MODULES])
    multiprocessing.forkserver.ensure_running()
    _server_env = env


def step_server_pid() -> int | None:
    """The step server of this process, if one runs."""
    return multiprocessing.forkserver._forkserver._forkserver_pid


def step_processes() -> list[psutil.Process]:
    """Every process the step server has forked (steps), and what those started."""
    pid = step_server_pid()
    if pid is None:
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kill_steps() -> list[int]:
    """Kill every process of :func:`step_processes`; their pids."""
    processes = step_processes()
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return [process.pid for process in processes]


def _stop_step_server() -> None:
    """Stop the running step server at once. It may still be importing, and would only notice that it
    should stop once done (seconds): it is killed first. Steps already forked from it are separate
    processes. Private attributes, but the only way to restart the server (Python 3.11 to 3.13)."""
    server = multiprocessing.forkserver._forkserver
    pid = server._forkserver_pid
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    server._stop()


def warm_before_database(settings: Settings) -> bool:
    """Start the step server before the database, when Dagster's storage URL is already known (an
    external database, or the embedded server's socket directory). True if it was known: Dagster's
    environment is then set, and the server started (with the multiprocess executor; other engines
    have none)."""
    urls = predicted_urls(settings)
    if urls is None:
        return False
    prepare_dagster_home(settings.home, urls.dagster, settings.workers)
    warm_step_server()
    return True
