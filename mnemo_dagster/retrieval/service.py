"""A resident service, so that ``mnemo search`` from a shell answers in well under a second, and a
small ``mnemo index`` pass runs in seconds (:mod:`mnemo_dagster.launch.resident_pass`).

A fresh process pays seconds to import torch and sentence-transformers before it can embed a query.
The first ``mnemo search`` therefore starts this service in the background
(``python -m mnemo_dagster.launch.resident``, which also serves passes); it loads the model once,
listens on a Unix socket
under ``MNEMO_HOME/run/``, answers one JSON request per connection, and exits after
``MNEMO_SEARCH_IDLE_SECONDS`` (default 300) without a request. Later searches connect and ask it.

- **One per index**: the socket and lock file are named by a hash of MNEMO_HOME, the database URL,
  the model, the Python environment and when mnemo's code last changed, and the service holds an
  exclusive ``flock`` on the lock file for its whole life, so when two CLIs start it at once, one
  wins and the other exits; both clients then use the winner.
- **Searches do not wait for a pass**: each connection is answered on a thread of its own. Passes
  run one at a time, and searches one at a time, but a search runs while a pass does: on a small
  pass's few seconds of work, an agent's question would otherwise wait them out. The query encoder
  has a tokenizer of its own (:func:`~mnemo_dagster.retrieval.onnx_query.onnx_encoder`).
- **Fallback**: when the service cannot start (no Unix sockets, a read-only home, it died), or
  ``MNEMO_SEARCH_SERVICE=0``, :func:`search_via_service` returns None and the caller searches in
  its own process.

This module imports nothing heavy at the top: the client runs in the ``mnemo`` process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnemo_dagster import errors
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.indexing.resident import PASS_REQUEST_SECONDS

START_TIMEOUT_SECONDS = 120.0
"""How long a client waits for a service it started to listen (loading the model takes seconds)."""
REQUEST_TIMEOUT_SECONDS = 60.0
"""How long a client waits for one answer."""
REQUEST_READ_SECONDS = 30.0
"""How long the service waits for a client that connected to send its request."""
LOCK_ATTEMPTS = 20
"""Tries, 50 ms apart, before a starting service leaves the lock to the one that holds it."""
RESIDENT_MODULE = "mnemo_dagster.launch.resident"
"""What the service process runs: the place where what it serves (searches from here, passes from
:mod:`mnemo_dagster.launch`) is put together, above every layer it uses; clients only name it."""
MAX_SERVICE_RSS_BYTES = 3 * 1024**3
"""A service that has grown past this after a pass exits (a pass's graph refresh of a large repository
takes a gigabyte that Python keeps)."""
STAMP_CHECK_SECONDS = 10.0
"""How often an idle service looks whether mnemo's code changed (then it exits)."""
RESTART_SECONDS = 300.0
"""How long :func:`keep_service_warm` waits before it starts a service again in the same process."""
_last_start = -RESTART_SECONDS
MAX_SOCKET_PATH = 100
"""Unix socket paths are limited to about 108 bytes; a longer one moves to the temp directory."""


@dataclass(frozen=True, slots=True)
class ServicePaths:
    """Where the service of one index listens, locks and logs."""

    socket: Path
    lock: Path
    log: Path


def service_paths(settings: Settings) -> ServicePaths:
    """The socket, lock and log paths of the service for ``settings``' index and model."""
    identity = "|".join(
        [
            str(settings.home),
            settings.database_url or "embedded",
            settings.embedding_model,
            str(sys.prefix),
            _code_stamp(),
        ]
    )
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    run = settings.home / "run"
    sock = run / f"search-{key}.sock"
    if len(os.fsencode(sock)) > MAX_SOCKET_PATH:
        sock = Path(tempfile.gettempdir()) / f"mnemo-search-{os.getuid()}-{key}.sock"
    return ServicePaths(sock, run / f"search-{key}.lock", run / f"search-{key}.log")


def _code_stamp() -> str:
    """When mnemo's code last changed (its newest module): an upgraded or edited install gets a
    service of its own, and the old one idles out instead of answering with old code."""
    package = Path(__file__).resolve().parent.parent
    return str(max((path.stat().st_mtime_ns for path in package.rglob("*.py")), default=0))


# -- the client -------------------------------------------------------------------------------------


def _ask(path: Path, request: dict[str, Any], timeout: float = REQUEST_TIMEOUT_SECONDS) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(path))
        conn.sendall(json.dumps(request).encode() + b"\n")
        with conn.makefile("rb") as reply:
            line = reply.readline()
    if not line:
        raise ConnectionError("the search service closed the connection")
    return json.loads(line)


def _lock_is_free(path: Path) -> bool:
    """True when no service holds (or is starting with) the lock at ``path``."""
    try:
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def start_service(
    settings: Settings, *, passes: bool = False, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes] | None:
    """Start the service for ``settings`` in the background, in ``env`` (default: this process's);
    None if it cannot be started. With ``passes`` it readies itself for passes too before it listens
    (started by ``mnemo index``)."""
    paths = service_paths(settings)
    try:
        paths.lock.parent.mkdir(parents=True, exist_ok=True)
        log = open(paths.log, "ab")  # noqa: SIM115 (the child keeps it)
    except OSError:
        return None
    with log:
        return subprocess.Popen(
            [sys.executable, "-m", RESIDENT_MODULE, *(["--passes"] if passes else [])],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
        )


def search_via_service(settings: Settings, request: dict[str, Any]) -> dict[str, Any] | None:
    """The service's answer to ``request`` (starting the service if needed); None when no service
    can answer, so the caller searches in-process."""
    if not settings.search_service:
        return None
    paths = service_paths(settings)
    try:
        return _ask(paths.socket, request)
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    except OSError:
        return None
    child = start_service(settings)
    if child is None:
        return None
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            return _ask(paths.socket, request)
        except (FileNotFoundError, ConnectionRefusedError):
            # Our child may have lost the race to another starter: wait while anyone holds the lock.
            if child.poll() is not None and _lock_is_free(paths.lock):
                return None
            time.sleep(0.05)
        except OSError:
            return None
    return None


def service_is_listening(settings: Settings) -> bool:
    """Whether the service of ``settings``' index runs (or is starting: its lock is held)."""
    return settings.search_service and not _lock_is_free(service_paths(settings).lock)


def pass_via_service(settings: Settings, request: dict[str, Any]) -> dict[str, Any] | None:
    """The summary of the pass ``request`` asks for, run by the service if it is listening; None when
    it is not, declines, or fails (the command then runs the pass itself)."""
    if not settings.search_service:
        return None
    try:
        reply = _ask(service_paths(settings).socket, request, PASS_REQUEST_SECONDS)
    except (OSError, ValueError):  # not listening, gone mid-pass, a timeout, a broken reply
        return None
    summary = reply.get("summary")
    return summary if isinstance(summary, dict) else None


def keep_service_warm(settings: Settings) -> bool:
    """Keep the service of ``settings``' index ready for passes: ping it if it runs (its idle clock
    starts again), else start it (with this process's environment). The directory sensor calls this
    every tick, so the scans it requests can hand small passes to a warm service. False where the
    service is off (``MNEMO_SEARCH_SERVICE=0``) or cannot start."""
    global _last_start
    if not settings.search_service:
        return False
    if service_is_listening(settings):
        with contextlib.suppress(OSError, ValueError):  # still starting, or busy with a pass: it is there
            _ask(service_paths(settings).socket, {"op": "ping"}, timeout=1.0)
        return True
    if time.monotonic() - _last_start < RESTART_SECONDS:
        return False  # one that will not start (a broken model) is not retried at every tick
    _last_start = time.monotonic()
    return start_service(settings, passes=True) is not None


def raise_error(answer: dict[str, Any]) -> None:
    """Raise the error the service reported, as the same mnemo error type."""
    kind = getattr(errors, str(answer.get("type")), None)
    if kind is None or not (isinstance(kind, type) and issubclass(kind, errors.MnemoError)):
        kind = errors.MnemoError
    try:
        raise kind(answer["error"])
    except TypeError:  # an error type whose constructor takes other arguments
        raise errors.MnemoError(answer["error"]) from None


# -- the service ------------------------------------------------------------------------------------


def answer(index: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run one search request against ``index``; errors become ``{"error", "type"}``."""
    try:
        hits = index.search(
            str(request.get("query", "")),
            request.get("repository"),
            int(request.get("limit", 10)),
            language=request.get("language"),
            kind=request.get("kind"),
            path=request.get("path"),
            check_repository=bool(request.get("check_repository")),
        )
        return {"hits": [hit.as_dict() for hit in hits]}
    except errors.MnemoError as exc:
        return {"error": str(exc), "type": type(exc).__name__}
    except Exception as exc:  # a broken request must not end the service
        return {"error": f"search failed: {exc}", "type": "MnemoError"}


Op = Callable[[dict[str, Any]], dict[str, Any]]
"""A request of another kind than a search (its ``op``), answered by the process that serves
(:mod:`mnemo_dagster.launch.resident`: ``index``, a pass)."""


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers each connection on a thread; closing it waits for those threads (a pass ends whole)."""

    daemon_threads = False
    index: Any
    ops: Mapping[str, Op]
    done = ""
    """Why the service stops (empty while it serves)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, _Handler)
        self.searching = threading.Lock()
        """Searches run one at a time (the index's query encoder and statistics are one)."""
        self.passing = threading.Lock()
        """Passes run one at a time, as they would under the pass lock."""
        self._busy = threading.Lock()
        self._active = 0
        self._last = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while one is being answered."""
        with self._busy:
            return 0.0 if self._active else time.monotonic() - self._last

    @contextlib.contextmanager
    def answering(self) -> Any:
        with self._busy:
            self._active += 1
        try:
            yield
        finally:
            with self._busy:
                self._active -= 1
                self._last = time.monotonic()


class _Handler(socketserver.StreamRequestHandler):
    server: _Server
    timeout = REQUEST_READ_SECONDS
    """Of the connection's reads and writes, not of the work between them."""

    def handle(self) -> None:
        with self.server.answering():
            try:
                line = self.rfile.readline()
            except OSError:  # a client that connected and sent nothing: its thread must not stay
                print(f"a client sent no request in {REQUEST_READ_SECONDS:g} s", flush=True)
                return
            try:
                request = json.loads(line or b"{}")
                if not isinstance(request, dict):
                    reply = {}
                elif request.get("op") == "ping":
                    reply = {"ok": True}
                elif request.get("op") in self.server.ops:
                    reply = self._op(request)
                else:
                    with self.server.searching:
                        reply = answer(self.server.index, request)
            except ValueError:
                reply = {"error": "the request is not JSON", "type": "MnemoError"}
            self.wfile.write(json.dumps(reply).encode() + b"\n")

    def _op(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer an op (a pass) once the one in progress has ended, or give up after as long as its
        client waits (the client then runs it itself)."""
        if not self.server.passing.acquire(timeout=PASS_REQUEST_SECONDS):
            print(f"an {request['op']!r} request waited {PASS_REQUEST_SECONDS:g} s for another", flush=True)
            return {"error": "the service was busy with another pass", "type": "MnemoError"}
        try:
            reply = self.server.ops[request["op"]](request)
        finally:
            self.server.passing.release()
        if _too_big():
            self.server.done = f"grown past {MAX_SERVICE_RSS_BYTES >> 30} GB"
        return reply


def _take(lock: Any) -> bool:
    """Take the service lock, retrying for a moment: a client's probe (:func:`_lock_is_free`) holds
    it for microseconds, and must not make a starting service give up."""
    for _ in range(LOCK_ATTEMPTS):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.05)
    return False


def _too_big() -> bool:
    """Whether this process has grown past :data:`MAX_SERVICE_RSS_BYTES` (it then exits, and the next
    command starts a fresh one)."""
    import psutil

    return bool(psutil.Process().memory_info().rss > MAX_SERVICE_RSS_BYTES)


def serve(
    settings: Settings,
    idle: float,
    ops: Mapping[str, Op] | None = None,
    *,
    ready: Callable[[], object] = lambda: None,
) -> int:
    """Serve searches for ``settings``, and requests of the ``ops``, until idle for ``idle`` seconds;
    0 also when another service of the same index holds the lock (it serves instead). ``ready`` runs
    once the lock is held, before the service listens (what the ops need loaded)."""
    from mnemo_dagster.retrieval.index import Index

    paths = service_paths(settings)
    paths.lock.parent.mkdir(parents=True, exist_ok=True)
    with open(paths.lock, "a") as lock:
        if not _take(lock):
            return 0
        index = Index(settings).warm()
        ready()
        with contextlib.suppress(FileNotFoundError):
            paths.socket.unlink()  # left by a service that was killed; we hold the lock
        server = _Server(str(paths.socket))
        server.index, server.ops = index, dict(ops or {})
        server.timeout = min(idle, STAMP_CHECK_SECONDS)
        stamp = _code_stamp()
        print(f"search service {os.getpid()} listening on {paths.socket}", flush=True)
        try:
            while not server.done:
                server.handle_request()
                if server.idle_for() >= idle:
                    server.done = f"idle for {idle:g} s"
                elif _code_stamp() != stamp:  # an edited or upgraded install: its own service answers
                    server.done = "mnemo's code changed"
        finally:
            with contextlib.suppress(FileNotFoundError):
                paths.socket.unlink()
            server.server_close()
            index.close()
        print(f"search service {os.getpid()} {server.done}: exiting", flush=True)
    return 0
