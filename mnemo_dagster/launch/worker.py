"""A run worker process (``python -m mnemo_dagster.launch.worker``): executes one batch run per
request line of :class:`~mnemo_dagster.launch.workers.RunWorkerPool`, and replies with its outcome."""

from __future__ import annotations

import json
import os
import sys
from typing import IO

from mnemo_dagster.launch.interrupts import watch_interrupts
from mnemo_dagster.launch.runner import DagsterRunner, dagster_instance
from mnemo_dagster.launch.step_server import warm_step_server
from mnemo_dagster.wiring import wire


def _serve(requests: IO[str], replies: IO[str]) -> int:
    """Execute one batch run per request line until the input ends."""
    with wire() as wiring, dagster_instance(wiring) as instance:
        warm_step_server()
        for line in requests:
            request = json.loads(line)
            runner = DagsterRunner(instance, request["tags"], heartbeat=False)
            runner.pass_id = request["pass_id"]
            try:
                outcome = runner.run_batch(request["repository"], request["key"])
            except KeyboardInterrupt:
                replies.write(json.dumps({"interrupted": True}) + "\n")
                replies.flush()
                return 130
            replies.write(json.dumps(outcome.as_json()) + "\n")
            replies.flush()
    return 0


def main() -> int:
    """Serve requests on stdin; reply on the original stdout (anything printed goes to stderr)."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    watch_interrupts()
    try:
        return _serve(sys.stdin, replies)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
