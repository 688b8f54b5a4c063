"""Names of the run tags mnemo sets and reads, in one place."""

from __future__ import annotations

PARTITION = "dagster/partition"
"""Dagster's own tag for the partition a run materializes."""
MAX_RUNTIME = "dagster/max_runtime"
"""Seconds after which Dagster's run monitoring ends a run the daemon launched."""
PRIORITY = "dagster/priority"
"""Dagster's run queue starts queued runs with a higher value first (default 0)."""
REPOSITORY = "mnemo/repository"
"""The repository (or comma-separated repositories) a run works on."""
LAUNCHED_BY = "mnemo/launched_by"
"""Who started the run: ``mnemo-cli``, ``mnemo-service`` (a small pass the resident service ran for
``mnemo index`` or a scan), ``directory_change_sensor``..."""
HOST = "mnemo/host"
"""Host name of the process that executes a run in-process (``mnemo index``)."""
PASS = "mnemo/pass"
"""One id for all the runs of one ``mnemo index`` pass."""
PID = "mnemo/pid"
"""Process id of that process: a run whose process is gone is orphaned."""
HEARTBEAT = "mnemo/heartbeat"
"""Unix time that process last said it still executes the run (every
:data:`~mnemo_dagster.defs.orphans.HEARTBEAT_SECONDS`): from any host, a run whose beats stopped is
orphaned."""

CLI = "mnemo-cli"
SERVICE = "mnemo-service"
SELF_EXECUTED = (CLI, SERVICE)
"""Who executes the runs they start themselves, and beats them: a run of theirs whose process is gone
is orphaned (:mod:`~mnemo_dagster.defs.orphans`)."""
DIRECTORY_SENSOR = "directory_change_sensor"
SOURCE_URL = "mnemo/source_url"
"""The git URL (or path) a git-sourced repository is fetched from."""
SOURCE_REF = "mnemo/source_ref"
"""The branch, tag or commit asked for."""
COMMIT = "mnemo/commit"
"""The commit the pass indexes: a worker elsewhere fetches exactly this from ``mnemo/source_url``."""


def source_tags(url: str, ref: str, commit: str) -> dict[str, str]:
    """The tags that let a worker anywhere fetch the exact tree a run indexes."""
    return {SOURCE_URL: url, SOURCE_REF: ref, COMMIT: commit}
