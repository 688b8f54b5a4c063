"""Stopping the servers and workers a test started in their own session."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any


def stop_session(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """End ``process`` and everything in its session (started with ``start_new_session=True``):
    SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
