"""A pass's request to the resident service: what ``mnemo index`` and a scan run send, and what the
service checks before it runs the pass (:mod:`mnemo_dagster.launch.resident_pass`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.errors import MnemoError

PASS_REQUEST_SECONDS = 600.0
"""The longest ``mnemo index`` waits for the service's answer to a pass (then it runs it itself)."""
DERIVED = frozenset({"MNEMO_DAGSTER_STORAGE_URL"})
"""Variables mnemo sets from the others (``mnemo env`` prints them for ``dagster dev``)."""


def environment() -> dict[str, str]:
    """What a pass's settings come from: every ``MNEMO_*`` variable, and ``DAGSTER_HOME`` where it is
    not the default that ``mnemo env`` prints (a shell that ran ``eval "$(mnemo env)"`` and one that
    did not have the same settings)."""
    found = {
        key: value
        for key, value in os.environ.items()
        if (key.startswith("MNEMO_") and key not in DERIVED) or key == "DAGSTER_HOME"
    }
    if found.get("DAGSTER_HOME") == str(Settings.from_env().home / "dagster"):
        del found["DAGSTER_HOME"]
    return found


def pass_request(root: Path, name: str | None, batch_size: int | None) -> dict[str, Any]:
    """The request of a pass over ``root`` (``mnemo index PATH --name --batch-size``)."""
    return {
        "op": "index",
        "root": str(root.expanduser().resolve()),
        "name": name,
        "batch_size": batch_size,
        "environment": environment(),
    }


class DeclinedError(MnemoError):
    """The service will not run this pass (the command runs it itself); the message says why."""
