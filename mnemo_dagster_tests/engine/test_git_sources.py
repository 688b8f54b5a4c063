"""Git sources: a bare repository made by the test (no network) is indexed at a ref, and when the ref
moves only the files ``git diff`` names are indexed again; the commit is on the repository's row and
in the run tags."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, RunsFilter

from mnemo_dagster.cli import main
from mnemo_dagster.defs import tags
from mnemo_dagster.defs.tags import source_tags
from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.indexing.sources import checkout_source, ensure_checkout, is_git_source, source_name
from mnemo_dagster.launch.runner import DagsterRunner
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.schema import repositories, source_files
from mnemo_dagster.wiring import Wiring, wire

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"
IDENTITY = ["-c", "user.name=mnemo-test", "-c", "user.email=test@example.invalid"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, Path]:
    """A work tree with the sample repository committed on ``main``, and a bare clone of it."""
    work = tmp_path / "work"
    shutil.copytree(SAMPLE, work)
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "first")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(work), str(bare))
    git(work, "remote", "add", "origin", str(bare))
    return work, bare


def _files(store: IndexStore, repository: str) -> dict[str, tuple[str | None, object]]:
    """path -> (indexed content hash, indexed_at)."""
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(source_files.c.path, source_files.c.indexed_hash, source_files.c.indexed_at).where(
                source_files.c.repository == repository
            )
        ).all()
    return {path: (digest, at) for path, digest, at in rows}


def _source_row(store: IndexStore, repository: str) -> tuple[str, str, str]:
    with store.begin() as conn:
        row = conn.execute(
            sa.select(
                repositories.c.source_url, repositories.c.source_ref, repositories.c.source_commit
            ).where(repositories.c.name == repository)
        ).one()
    return (row[0], row[1], row[2])


def test_what_counts_as_a_git_source(origin: tuple[Path, Path], tmp_path: Path) -> None:
    work, bare = origin
    assert is_git_source("https://example.invalid/team/app.git")
    assert is_git_source("git@example.invalid:team/app.git")
    assert is_git_source(f"file://{bare}") and is_git_source(str(bare))  # a bare repository
    assert not is_git_source(str(work)) and is_git_source(
        str(work), ref="main"
    )  # a work tree only with --ref
    assert not is_git_source(str(tmp_path))
    assert source_name("https://example.invalid/team/app.git") == "app"
    assert source_name(f"file://{bare}/") == "origin"


@pytest.mark.slow
def test_index_at_a_ref_then_reindex_only_what_the_diff_names(
    origin: tuple[Path, Path], instance: DagsterInstance, default_store: IndexStore
) -> None:
    work, bare = origin
    url, name = f"file://{bare}", f"git-{uuid.uuid4().hex[:8]}"
    with wire() as wiring:
        first = checkout_source(wiring, url, ref="main", name=name)
        assert first is not None and first.changed is None  # nothing to diff against yet
        assert first.root == wiring.settings.home / "checkouts" / name
        summary = run_pass(wiring, first.root, InProcessRunner(wiring), name=name, source=first)
    assert summary.ok and summary.plan.files_new_or_changed == 7
    first_commit = git(bare, "rev-parse", "main")
    assert _source_row(default_store, name) == (url, "main", first_commit)
    before = _files(default_store, name)

    (work / "shop" / "models.py").write_text((work / "shop" / "models.py").read_text() + "\nLIMIT = 3\n")
    (work / "shop" / "extra.py").write_text("def extra_total(values):\n    return sum(values)\n")
    git(work, "rm", "--quiet", "web/format.ts")
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "-m", "second")
    git(work, "push", "--quiet", "origin", "main")
    second_commit = git(bare, "rev-parse", "main")

    with wire() as wiring:
        moved = checkout_source(wiring, url, ref="main", name=name)
        assert moved is not None and moved.previous_commit == first_commit and moved.commit == second_commit
        assert moved.changed == {"shop/models.py", "shop/extra.py", "web/format.ts"}
        runner = DagsterRunner(instance, source_tags(moved.url, moved.ref, moved.commit))
        summary = run_pass(wiring, moved.root, runner, name=name, source=moved)
    assert summary.ok
    assert (summary.plan.files_new_or_changed, summary.plan.files_deleted) == (2, 1)
    assert summary.plan.files_unchanged == len(before) - 2  # all but the edited and the deleted file
    assert _source_row(default_store, name) == (url, "main", second_commit)

    after = _files(default_store, name)
    assert set(after) == set(before) - {"web/format.ts"} | {"shop/extra.py"}
    assert after["shop/models.py"][0] != before["shop/models.py"][0]
    assert after["shop/extra.py"][0] is not None
    untouched = set(before) - {"shop/models.py", "web/format.ts"}
    assert {path: after[path] for path in untouched} == {path: before[path] for path in untouched}

    runs = instance.get_runs(RunsFilter(tags={tags.PASS: runner.pass_id}))
    assert {run.job_name for run in runs} == {"index_batches_job", "graph_job"}
    for run in runs:
        assert (run.tags[tags.SOURCE_URL], run.tags[tags.COMMIT]) == (url, second_commit)

    # A worker on another machine has no checkout: the batch step fetches the commit itself.
    shutil.rmtree(moved.root)
    assert ensure_checkout(default_store, name) is True  # a run without a commit tag: the recorded one
    assert git(moved.root, "rev-parse", "HEAD") == second_commit
    assert ensure_checkout(default_store, name, second_commit) is False  # already there: no fetch
    assert ensure_checkout(default_store, name, first_commit) is True  # a run tagged with an older commit
    assert (moved.root / "web" / "format.ts").exists() and not (moved.root / "shop" / "extra.py").exists()


def _pending(store: IndexStore, repository: str) -> set[str]:
    with store.begin() as conn:
        rows = conn.execute(
            sa.select(source_files.c.path).where(
                source_files.c.repository == repository, source_files.c.status == "pending"
            )
        ).all()
    return {row[0] for row in rows}


def test_the_diff_is_the_authority_on_which_files_the_scan_looks_at(
    tmp_path: Path, fresh_wiring: Wiring
) -> None:
    repo = tmp_path / "plain"
    shutil.copytree(SAMPLE, repo)
    assert run_pass(fresh_wiring, repo, InProcessRunner(fresh_wiring), name="plain").ok
    for path in ("shop/models.py", "shop/retry.py"):
        (repo / path).write_text((repo / path).read_text() + "\n# edited\n")
    store, limit = fresh_wiring.store, fresh_wiring.settings.max_file_bytes
    named = plan_pass(store, "plain", repo, max_file_bytes=limit, candidates={"shop/retry.py"})
    assert (named.files_new_or_changed, named.files_deleted) == (1, 0)
    assert _pending(store, "plain") == {"shop/retry.py"}  # models.py changed too, but no diff named it
    everything = plan_pass(store, "plain", repo, max_file_bytes=limit)  # no diff: stat and hash decide
    assert everything.files_new_or_changed == 1
    assert _pending(store, "plain") == {"shop/retry.py", "shop/models.py"}


def test_a_bad_url_or_an_unknown_ref_is_one_line_and_exit_2_and_leaves_nothing_behind(
    origin: tuple[Path, Path], tmp_path: Path, mnemo_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, bare = origin
    name = f"bad-{uuid.uuid4().hex[:8]}"
    assert main(["index", f"file://{bare}", "--ref", "no-such-branch", "--name", name, "--in-process"]) == 2
    err = capsys.readouterr().err
    reason = "couldn't find remote ref no-such-branch"
    assert err == f"mnemo: cannot fetch 'no-such-branch' from file://{bare}: {reason}\n"
    missing = tmp_path / "missing.git"
    assert main(["index", f"file://{missing}", "--name", name, "--in-process"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mnemo: cannot fetch 'HEAD' from file://{missing}: ") and err.count("\n") == 1
    assert main(["index", str(tmp_path), "--ref", "main", "--in-process"]) == 2
    assert (
        capsys.readouterr().err == f"mnemo: --ref needs a git URL or repository, and {tmp_path} is neither\n"
    )
    checkouts = mnemo_home / "checkouts"
    assert checkouts.is_dir()  # the clone was staged there, and removed when the fetch failed
    assert [p.name for p in checkouts.iterdir() if name in p.name] == []
