"""The `mnemo` command line, parsed and run in-process with click's CliRunner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
from click.testing import CliRunner

from mnemo_dagster.cli import cli, main
from mnemo_dagster.errors import PassBusyError, ServerInUseError, StoreError
from mnemo_dagster.indexing import passes
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.server import DatabaseUrls, stop_embedded_server

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_help(runner: CliRunner) -> None:
    version = runner.invoke(cli, ["--version"])
    assert (version.exit_code, version.output) == (0, "mnemo, version 0.1.0\n")
    assert main(["--version"]) == 0
    help_text = runner.invoke(cli, ["--help"]).output
    for command in ("index", "status", "search", "batches", "db", "env"):
        assert f"\n  {command} " in help_text


def test_usage_errors_exit_2_with_a_message(runner: CliRunner, tmp_path: Path, mnemo_home: Path) -> None:
    zero = runner.invoke(cli, ["index", str(tmp_path), "--batch-size", "0"])
    assert zero.exit_code == 2 and "0 is not in the range x>=1" in zero.stderr
    missing = runner.invoke(cli, ["index", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and missing.stderr == f"mnemo: {tmp_path / 'nope'}: no such directory\n"
    unknown = runner.invoke(cli, ["status", "no-such-repo"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("mnemo: no repository named 'no-such-repo'")
    assert main(["index"]) == 2  # a missing argument


def test_bad_targets_are_refused_before_the_step_server_or_the_database_start(tmp_path: Path) -> None:
    """A command in a fresh MNEMO_HOME: a refused target leaves no database behind, nor a step server."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("hello")
    home = tmp_path / "home"
    cases = {
        str(tmp_path / "missing"): f"mnemo: {tmp_path / 'missing'}: no such directory\n",
        str(a_file): f"mnemo: {a_file} is not a directory: mnemo index takes a directory or a git URL\n",
    }
    env = {**os.environ, "MNEMO_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    for target, message in cases.items():
        done = subprocess.run(
            [sys.executable, "-m", "mnemo_dagster.cli", "index", target],
            capture_output=True,
            text=True,
            env=env,
        )
        assert (done.returncode, done.stderr) == (2, message)
    bad_name = subprocess.run(
        [sys.executable, "-m", "mnemo_dagster.cli", "index", str(tmp_path), "--name", "a__b"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad_name.returncode == 2 and bad_name.stderr.startswith("mnemo: invalid repository name 'a__b'")
    assert not home.exists()  # neither the database nor Dagster's home was made


def test_a_directory_with_a_non_ascii_name_gets_a_valid_default_name(tmp_path: Path) -> None:
    from mnemo_dagster.indexing.targets import check_index_target

    cafe = tmp_path / "café-app"
    cafe.mkdir()
    assert check_index_target(str(cafe)) == "caf--app"  # valid: only "__" and ".." are not


@pytest.mark.slow
def test_index_in_process_then_status_batches_and_urls(
    runner: CliRunner, tmp_path: Path, mnemo_home: Path, urls: DatabaseUrls
) -> None:
    repo = tmp_path / "clirepo"
    shutil.copytree(SAMPLE, repo)
    result = runner.invoke(cli, ["index", str(repo), "--in-process", "--json", "--batch-size", "4"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["repository"] == "clirepo" and summary["ok"] is True
    assert summary["batches"] == {"total": 2, "run": 2, "failed": 0, "failed_keys": []}
    assert summary["files"]["indexed"] == 7
    # --json: plain progress lines on stderr, never a bar, and nothing but JSON on stdout
    assert result.stderr.splitlines()[0] == (
        "clirepo: 7 new or changed files, 0 unchanged, 0 deleted; 2 of 2 batches to run"
    )

    text = runner.invoke(cli, ["index", str(repo), "--in-process"])
    assert text.exit_code == 0
    assert text.stdout.startswith("Indexed clirepo in ")
    assert "7 files indexed, 0 failed, 1 skipped, 0 deleted" in text.stdout

    assert runner.invoke(cli, ["batches", "clirepo"]).stdout == "clirepo__0001,clirepo__0002\n"
    assert runner.invoke(cli, ["batches", "clirepo", "--pending"]).stdout == "\n"
    status = json.loads(runner.invoke(cli, ["status", "clirepo", "--json"]).stdout)
    assert status["files"] == {"indexed": 7, "pending": 0, "failed": 0, "skipped": 1}
    assert status["recent_runs"] == []  # in-process passes launch no Dagster run
    assert "changed_on_disk" not in status  # no walk unless asked
    (repo / "shop" / "checkout.py").write_text("# rewritten\n")
    (repo / "shop" / "refunds.py").write_text("def refund():\n    pass\n")
    disk = json.loads(runner.invoke(cli, ["status", "clirepo", "--json", "--check-disk"]).stdout)
    assert disk["changed_on_disk"] == {
        "checked": True,
        "changed": 1,
        "new": 1,
        "deleted": 0,
        "paths": ["shop/checkout.py", "shop/refunds.py"],
    }
    text_status = runner.invoke(cli, ["status", "clirepo", "--check-disk"]).stdout
    assert "  on disk since indexed: 1 changed, 1 new, 0 deleted\n    shop/checkout.py\n" in text_status
    assert runner.invoke(cli, ["db", "url"]).stdout == urls.libpq + "\n"
    exports = runner.invoke(cli, ["env"]).stdout.splitlines()
    assert exports[0] == f"export DAGSTER_HOME={mnemo_home / 'dagster'}"
    assert exports[2] == f"export MNEMO_HOME={mnemo_home}"


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (PassBusyError("shop"), 3, "another pass over 'shop' is running"),
        (StoreError("the index database is unreachable: gone"), 4, "the index database is unreachable: gone"),
    ],
)
def test_errors_map_to_documented_exit_codes(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    code: int,
    message: str,
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(passes, "run_pass", refuse)  # a narrow unit test of the exit-code mapping
    result = runner.invoke(cli, ["index", str(tmp_path), "--in-process"])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.stderr


def _db_status(runner: CliRunner) -> dict[str, Any]:
    result = runner.invoke(cli, ["db", "status", "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _postmaster_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_db_status_and_stop_of_an_embedded_server(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server of this test's own MNEMO_HOME (stopping the session's would break the other tests)."""
    home = tmp_path / "home"
    data_dir = home / "pgdata"
    monkeypatch.setenv("MNEMO_HOME", str(home))
    monkeypatch.delenv("MNEMO_DATABASE_URL", raising=False)
    stopped = {"kind": "embedded", "running": False, "data_dir": str(data_dir), "pid": None}
    stopped |= {"socket_dir": None, "url": None}
    assert _db_status(runner) == stopped
    assert not home.exists()  # status starts nothing
    try:
        url = runner.invoke(cli, ["db", "url"]).stdout.strip()  # starts the server
        status = _db_status(runner)
        pid = status["pid"]
        assert status == stopped | {"running": True, "pid": pid, "socket_dir": str(data_dir)}
        assert psutil.Process(pid).name() == "postgres"
        text = runner.invoke(cli, ["db", "status"])
        assert (text.exit_code, text.stdout) == (
            0,
            "index database: embedded PostgreSQL, running\n"
            f"data directory: {data_dir}\npostmaster pid: {pid}\nsocket directory: {data_dir}\n",
        )

        store = IndexStore(url)
        store.ensure_schema("a-model", 8)
        store.files.register("shop", "shop")
        with store.pass_lock("shop") as acquired:
            assert acquired
            busy = runner.invoke(cli, ["db", "stop"])
            assert busy.exit_code == 3 and busy.stdout == ""
            assert busy.stderr.startswith("mnemo: a pass over 'shop' is running against the embedded ")
            assert busy.stderr.endswith("use --force\n") and _db_status(runner)["pid"] == pid
            forced = runner.invoke(cli, ["db", "stop", "--force"])
            assert (forced.exit_code, forced.stdout) == (0, f"stopped the embedded PostgreSQL (pid {pid})\n")
        store.dispose()
        assert _postmaster_gone(pid)
        assert _db_status(runner) == stopped
        assert runner.invoke(cli, ["db", "status"]).stdout == (
            f"index database: embedded PostgreSQL, not running\ndata directory: {data_dir}\n"
        )
        again = runner.invoke(cli, ["db", "stop"])
        assert (again.exit_code, again.stdout) == (0, "the embedded PostgreSQL is not running\n")

        assert runner.invoke(cli, ["db", "url"]).stdout.strip() == url  # the next command starts it again
        pid = _db_status(runner)["pid"]
        done = runner.invoke(cli, ["db", "stop"])  # no pass now: no --force needed
        assert (done.exit_code, done.stdout) == (0, f"stopped the embedded PostgreSQL (pid {pid})\n")
        assert _postmaster_gone(pid) and _db_status(runner) == stopped
    finally:
        stop_embedded_server(data_dir)


def test_db_status_and_stop_with_an_external_database(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MNEMO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MNEMO_DATABASE_URL", "postgresql://u:secret@host/db")
    assert _db_status(runner) == {
        "kind": "external",
        "running": None,
        "data_dir": None,
        "pid": None,
        "socket_dir": None,
        "url": "postgresql://u:***@host/db",
    }
    text = runner.invoke(cli, ["db", "status"])
    assert (text.exit_code, text.stdout) == (
        0,
        "index database: external PostgreSQL at postgresql://u:***@host/db\n",
    )
    stop = runner.invoke(cli, ["db", "stop"])
    assert stop.exit_code == 2 and "secret" not in stop.output
    assert stop.stderr.startswith("mnemo: MNEMO_DATABASE_URL points at an external PostgreSQL")
    assert len(stop.stderr.splitlines()) == 1
    assert not (tmp_path / "home").exists()


def test_the_stop_refusal_names_every_pass() -> None:
    assert str(ServerInUseError(["web", None, "api", None])) == (
        "4 passes over 'api', 'web', 2 repositories not recorded yet are running against the embedded "
        "PostgreSQL and would break if it stopped; wait for them to finish, or use --force"
    )
