"""The resident service's process: ``python -m mnemo_dagster.launch.resident [--passes]``.

It serves searches (:func:`mnemo_dagster.retrieval.service.serve`) and small passes
(:class:`~mnemo_dagster.launch.resident_pass.PassHost`), so it is put together here, above both;
clients (``mnemo search``, ``mnemo index``, the directory sensor and its scans) only name this module
(:data:`~mnemo_dagster.retrieval.service.RESIDENT_MODULE`). ``--passes`` readies Dagster for passes
before the service listens (else on the first pass).
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.indexing.resident import DeclinedError
from mnemo_dagster.launch.resident_pass import PassHost
from mnemo_dagster.retrieval.service import serve


def answer_pass(host: PassHost, request: dict[str, Any]) -> dict[str, Any]:
    """Run the pass ``request`` asks for: ``{"summary"}``, or ``{"declined"}`` with why the command
    must run it itself."""
    try:
        return {"summary": host.run(request)}
    except DeclinedError as exc:
        reason = str(exc)
    except Exception as exc:  # the command runs the pass itself, and meets it there
        reason = f"the pass failed here ({type(exc).__name__}: {exc})"
    print(f"declined a pass over {request.get('root')}: {reason}", flush=True)  # the service's log
    return {"declined": reason}


def main(argv: list[str]) -> int:
    # A starter that ignores SIGINT and SIGTERM (Dagster's code server, whose sensor starts this) passes
    # that on through exec: the service must stop when told to.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    settings = Settings.from_env()
    host = PassHost(settings)
    try:
        return serve(
            settings,
            settings.search_idle_seconds,
            {"index": lambda request: answer_pass(host, request)},
            ready=host.warm if "--passes" in argv else lambda: None,
        )
    finally:
        host.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
