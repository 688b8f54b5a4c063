"""Small passes of ``mnemo index`` run by the resident service, so an edit is indexed in seconds.

A fresh ``mnemo index`` pays to start before it indexes anything: Dagster and the code location
(1.6 s of imports), and the step server's torch, sentence-transformers and model (7 s of CPU), which a
batch step must wait for. On Django a one-function edit took 17 s that way, of which the work
(planning, one batch, the graph refresh) is 2.5 s. The resident service of the index
(:mod:`mnemo_dagster.launch.resident`, started by ``mnemo search`` and at the end of a pass) has paid
those costs already, so a pass that has little to do runs there:

- the same plan under the same lock (:func:`~mnemo_dagster.indexing.passes.run_pass`), and the same
  ``index_batches_job`` and ``graph_job`` runs in the instance's run history (tagged
  ``mnemo/launched_by=mnemo-service``); only their steps run in the service's process
  (``execute_in_process``): a batch of a few files needs no process of its own to hand its memory
  back;
- at most :data:`~mnemo_dagster.config.defaults.RESIDENT_PASS_FILES` files to index or delete: a
  larger plan is declined before any batch runs (the lock is released), and the command runs the pass
  itself, with its progress bar and a process per step;
- only in the environment the service started in (every ``MNEMO_*`` variable and ``DAGSTER_HOME``):
  a command run with other settings runs its pass itself, as does a git source or ``--in-process``;
- only with the multiprocess executor: under Celery, steps run on the workers.

The command runs the pass itself whenever the service is not there, declines, fails or dies (a
stalled batch's watchdog kills the process the step runs in, here the service): a pass never depends
on the service, and it never waits for it longer than
:data:`~mnemo_dagster.indexing.resident.PASS_REQUEST_SECONDS`.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mnemo_dagster.config.defaults import EXECUTORS, RESIDENT_PASS_FILES
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs import tags
from mnemo_dagster.errors import MnemoError
from mnemo_dagster.indexing.resident import DeclinedError, environment

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from mnemo_dagster.wiring import Wiring

MULTIPROCESS = EXECUTORS[0]


class PassHost:
    """What the service keeps for passes: the wiring and Dagster's instance, opened on first use."""

    def __init__(self, settings: Settings, limit: int = RESIDENT_PASS_FILES) -> None:
        self.settings = settings
        self.limit = limit
        self.environment = environment()
        self._stack = ExitStack()
        self._wiring: Wiring | None = None
        self._instance: DagsterInstance | None = None

    def warm(self) -> PassHost:
        """Open the wiring and the instance, and resolve both jobs (Dagster's imports, the code location)."""
        from mnemo_dagster.defs.definitions import get_graph_job, get_index_batches_job
        from mnemo_dagster.launch.runner import dagster_instance
        from mnemo_dagster.wiring import wire

        if self._wiring is None:
            self._wiring = self._stack.enter_context(wire(self.settings))
            self._instance = self._stack.enter_context(dagster_instance(self._wiring))
            get_index_batches_job(), get_graph_job()
            self._wiring.ensure_schema()
        return self

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """The summary of the pass ``request`` asks for (:func:`pass_request`), as ``mnemo index
        --json`` prints it; raises :class:`DeclinedError` for a pass the command must run itself."""
        from mnemo_dagster.indexing.passes import run_pass
        from mnemo_dagster.launch.runner import DagsterRunner

        if request.get("environment") != self.environment:
            raise DeclinedError("the command's MNEMO_* settings are not the service's")
        if self.settings.executor != MULTIPROCESS:  # steps belong on the configured engine's workers
            raise DeclinedError(f"steps run on the {self.settings.executor} executor")
        self.warm()
        assert self._wiring is not None and self._instance is not None
        runner = DagsterRunner(
            self._instance, in_process=True, max_files=self.limit, launched_by=tags.SERVICE
        )
        try:
            summary = run_pass(
                self._wiring,
                Path(request["root"]),
                runner,
                name=request.get("name"),
                batch_size=request.get("batch_size"),
                lock_wait_seconds=0.0,  # busy: the command waits for the lock itself, with its message
            )
        except MnemoError as exc:  # too large, busy, a bad path: the command meets it again itself
            raise DeclinedError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            runner.close()
        return summary.as_dict()

    def close(self) -> None:
        self._stack.close()
        self._wiring = self._instance = None
