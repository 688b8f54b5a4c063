"""Which engine runs the steps: chosen by configuration (``MNEMO_EXECUTOR``), never by editing code.

``multiprocess`` (default)  each step in a subprocess of the process that executes the run, forked from
                            a server that preloaded torch; one machine.
``celery``                  each step is a Celery task on the broker at ``MNEMO_CELERY_BROKER_URL``
                            (e.g. ``redis://127.0.0.1:6379/0``, also the result backend), executed by
                            ``dagster-celery worker start`` processes on any machine that reaches the
                            broker and the PostgreSQL of ``MNEMO_DATABASE_URL``.

The choice is read when the code location loads (as ``MNEMO_REINDEX_CRON`` is); the broker URL is
read by Dagster when a run starts, through the executor's config, so workers and runs agree on it.
Workers take the same config block from a YAML file (:data:`CELERY_EXECUTOR_CONFIG`, see
``docs/deploy.md``).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from mnemo_dagster.config.defaults import EXECUTORS
from mnemo_dagster.config.settings import Settings

if TYPE_CHECKING:
    from dagster import ExecutorDefinition

EXECUTOR_ENV = "MNEMO_EXECUTOR"
BROKER_ENV = "MNEMO_CELERY_BROKER_URL"
MULTIPROCESS, CELERY = EXECUTORS

STEP_PRELOAD_MODULES = ["mnemo_dagster.defs.step_preload"]
"""Imported once by the executor's fork server; steps fork from it with torch already loaded."""

CELERY_EXECUTOR_CONFIG = {
    "broker": {"env": BROKER_ENV},
    # The broker doubles as the result backend: one service to run, and results outlive a restarted
    # orchestrator (the rpc:// default keeps them in the orchestrator's reply queue only).
    "backend": {"env": BROKER_ENV},
    "config_source": {
        # A step holds its task until it ends, so a worker that dies mid-step gives the task back.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
    },
}
"""The celery executor's config, and the ``execution: config:`` block of a worker's YAML file."""


def executor_name() -> str:
    """The engine ``MNEMO_EXECUTOR`` selects (default ``multiprocess``)."""
    return Settings.from_env().executor


def select_executor() -> ExecutorDefinition:
    """The executor of every job of the code location, as ``MNEMO_EXECUTOR`` selects it. (Dagster is
    imported here, not at the top: ``mnemo index`` reads :func:`executor_name` before loading it.)"""
    from dagster import multiprocess_executor

    if executor_name() == CELERY:
        # Imported only when chosen: it pulls in celery and kombu.
        from celery.exceptions import DuplicateTaskNameWarning
        from dagster_celery import celery_executor

        # dagster-celery defines its step task again for every run of a process (the graph run after
        # the batches); both definitions are the same function, so the task Celery keeps is right.
        warnings.filterwarnings(
            "ignore",
            message="Task name 'execute_plan' is already registered",
            category=DuplicateTaskNameWarning,
        )
        return celery_executor.configured(CELERY_EXECUTOR_CONFIG, name="mnemo_celery")
    return multiprocess_executor.configured(
        {
            "max_concurrent": 1,
            # Steps fork from a server that has already imported torch and sentence-transformers, so a
            # batch pays ~0.5 s to start instead of ~6 s, and its memory still goes back when it ends.
            "start_method": {"forkserver": {"preload_modules": STEP_PRELOAD_MODULES}},
        }
    )
