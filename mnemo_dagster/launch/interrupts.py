"""Ctrl-C and SIGTERM end a pass within seconds, whatever its steps are doing.

During a run Dagster replaces the SIGINT handler with its own, which asks each step to stop and then
waits for it: forever if the step is hung in native code, and even its request blocks while a step is
frozen (a multiprocessing ``Event.set`` waits for every process waiting on the event to wake). So this
process also watches signals at a lower level: :func:`signal.set_wakeup_fd` writes the number of every
signal that arrives to a pipe, whichever Python handler then runs, and a thread reads it.

After the first SIGINT or SIGTERM, the steps are continued if frozen, so they
can take Dagster's request, and have :data:`GRACE_SECONDS` to stop; then every process the step
server forked is killed. A second signal kills them at once. If this process is still inside the run
:data:`ESCAPE_SECONDS` after the kill, its main thread gets ``KeyboardInterrupt`` through SIGUSR1,
which ends whatever wait it is in.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType

GRACE_SECONDS = 4.0
"""How long steps have to stop after Ctrl-C before they are killed."""
ESCAPE_SECONDS = 3.0
"""How long after the kill the run may take to end before its wait is broken off."""

_seen = threading.Event()
_handled = threading.Event()


def interrupted() -> bool:
    """Whether this process has received SIGINT or SIGTERM since :func:`watch_interrupts`."""
    return _seen.is_set()


def handled() -> None:
    """The pass has seen the interruption and is stopping: nothing more needs breaking off."""
    _handled.set()


def watch_interrupts() -> None:
    """Start watching for SIGINT and SIGTERM (call once, from the main thread, before any run)."""
    receive, send = os.pipe()
    os.set_blocking(send, False)
    signal.set_wakeup_fd(send, warn_on_full_buffer=False)
    signal.signal(signal.SIGUSR1, _break_off)
    main = threading.main_thread().ident
    threading.Thread(target=_watch, args=(receive, main), name="mnemo-interrupts", daemon=True).start()


def _break_off(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _watch(receive: int, main: int | None) -> None:
    count = 0
    while data := os.read(receive, 64):
        for signum in data:
            if signum not in (signal.SIGINT, signal.SIGTERM):
                continue
            count += 1
            _seen.set()
            if count == 1:
                from mnemo_dagster.launch.step_server import step_processes  # here: `mnemo` starts fast

                for process in step_processes():
                    with contextlib.suppress(Exception):
                        process.resume()  # a frozen step cannot take Dagster's request
                _later(GRACE_SECONDS, _kill_then_escape, main)
            else:
                _kill_then_escape(main)


def _kill_then_escape(main: int | None) -> None:
    from mnemo_dagster.launch.step_server import kill_steps

    with contextlib.suppress(Exception):
        kill_steps()
    _later(ESCAPE_SECONDS, _escape, main)


def _escape(main: int | None) -> None:
    from mnemo_dagster.launch.step_server import step_server_pid

    # Only a process that runs steps can be stuck waiting on one.
    if main is not None and not _handled.is_set() and step_server_pid() is not None:
        signal.pthread_kill(main, signal.SIGUSR1)


def _later(seconds: float, action: object, main: int | None) -> None:
    timer = threading.Timer(seconds, action, args=(main,))  # type: ignore[arg-type]
    timer.daemon = True
    timer.start()
