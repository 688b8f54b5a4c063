"""The `mnemo` command line, parsed and run in-process with click's CliRunner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mnemo_dagster.cli import cli, main
from mnemo_dagster.errors import PassBusyError, StoreError
from mnemo_dagster.indexing import passes
from mnemo_dagster.store.server import DatabaseUrls

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
