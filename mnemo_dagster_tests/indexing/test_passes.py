"""The pass owner with the in-process runner, against the real embedded PostgreSQL and the real model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from mnemo_dagster.errors import ConfigError, PassBusyError, StoreError
from mnemo_dagster.indexing import passes
from mnemo_dagster.indexing.passes import GraphOutcome, PassObserver, run_pass
from mnemo_dagster.indexing.planning import PassPlan, plan_pass
from mnemo_dagster.indexing.report import BatchReport
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.store.schema import VECTOR_INDEX
from mnemo_dagster.wiring import Wiring

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


class Recorder(PassObserver):
    """Keeps the events of a pass, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def planned(self, plan: PassPlan) -> None:
        self.events.append(("planned", *plan.to_run))

    def batch_started(self, key: str, position: int) -> None:
        self.events.append(("started", key, str(position)))

    def batch_done(self, outcome: BatchReport, position: int) -> None:
        self.events.append(("done", outcome.key, str(outcome.success)))

    def graph_started(self) -> None:
        self.events.append(("graph",))

    def graph_done(self, outcome: GraphOutcome) -> None:
        self.events.append(("graph done", str(outcome.success)))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "shop"
    shutil.copytree(SAMPLE, target)
    return target


def _has_vector_index(wiring: Wiring) -> bool:
    with wiring.store.begin() as conn:
        return sa.inspect(conn).has_index("code_chunks", VECTOR_INDEX.name)


def test_a_pass_indexes_everything_then_a_second_pass_does_nothing(fresh_wiring: Wiring, repo: Path) -> None:
    recorder = Recorder()
    runner = InProcessRunner(fresh_wiring)
    first = run_pass(fresh_wiring, repo, runner, name="shop", batch_size=3, observer=recorder)

    assert first.ok and sorted(first.plan.to_run) == ["shop__0001", "shop__0002", "shop__0003"]
    assert first.plan.files_to_index == 7
    summary = first.as_dict()
    assert summary["batches"] == {"total": 3, "run": 3, "failed": 0, "failed_keys": []}
    assert summary["files"] == {
        "indexed": 7,
        "unchanged": 0,
        "failed": 0,
        "skipped": 1,  # .gitignore is not a source file
        "deleted": 0,
        "pending": 0,
    }
    assert summary["chunks"]["total"] == sum(b.chunks for b in first.batches) == 15
    assert summary["chunks"]["embedded"] + summary["chunks"]["reused"] == 15
    assert summary["graph"]["rebuilt"] is True and summary["graph"]["nodes"] == 32  # 8 of them external
    order = first.plan.to_run  # the batch with the newest file first
    assert [b.key for b in first.batches] == list(order)
    assert recorder.events == [
        ("planned", *order),
        *[e for n, key in enumerate(order) for e in (("started", key, str(n)), ("done", key, "True"))],
        ("graph",),
        ("graph done", "True"),
    ]

    again = run_pass(fresh_wiring, repo, runner, name="shop")
    assert again.batches == () and again.graph is None  # nothing changed: no batch, no graph
    assert again.as_dict()["files"]["unchanged"] == 8


def test_a_busy_repository_is_refused(fresh_wiring: Wiring, repo: Path) -> None:
    fresh_wiring.ensure_schema()
    with fresh_wiring.store.pass_lock("shop") as held:
        assert held
        with pytest.raises(PassBusyError, match="another pass over 'shop' is running"):
            run_pass(fresh_wiring, repo, InProcessRunner(fresh_wiring), name="shop", lock_wait_seconds=0.2)
    assert run_pass(fresh_wiring, repo, InProcessRunner(fresh_wiring), name="shop").ok  # free again


def test_a_bad_path_or_name_is_a_config_error(fresh_wiring: Wiring, repo: Path, tmp_path: Path) -> None:
    runner = InProcessRunner(fresh_wiring)
    with pytest.raises(ConfigError, match="is not a directory"):
        run_pass(fresh_wiring, tmp_path / "missing", runner, name="gone")
    with pytest.raises(ConfigError, match="invalid repository name 'a/b'"):
        run_pass(fresh_wiring, repo, runner, name="a/b")


def test_files_left_pending_by_an_interrupted_pass_are_planned_as_pending(
    fresh_wiring: Wiring, repo: Path
) -> None:
    fresh_wiring.ensure_schema()
    first = plan_pass(fresh_wiring.store, "shop", repo, max_file_bytes=1 << 20)  # then no batch ran
    assert (first.files_new_or_changed, first.files_pending, first.files_to_index) == (7, 0, 7)
    again = plan_pass(fresh_wiring.store, "shop", repo, max_file_bytes=1 << 20)
    assert (again.files_new_or_changed, again.files_pending, again.files_to_index) == (0, 7, 7)
    assert again.files_unchanged == 1  # .gitignore, skipped: the pending files are not "unchanged"
    assert again.to_run == first.to_run


class DropWatcher(PassObserver):
    """Whether the HNSW index existed while the batches ran."""

    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring
        self.during_batches: bool | None = None

    def batch_started(self, key: str, position: int) -> None:
        self.during_batches = _has_vector_index(self.wiring)


def test_a_first_index_loads_without_the_vector_index_and_an_edit_keeps_it(
    fresh_wiring: Wiring, repo: Path
) -> None:
    fresh_wiring.ensure_schema()
    assert _has_vector_index(fresh_wiring)
    first = DropWatcher(fresh_wiring)
    run_pass(fresh_wiring, repo, InProcessRunner(fresh_wiring), name="shop", observer=first)
    assert first.during_batches is False  # the pass doubled the indexed files (from none)
    assert _has_vector_index(fresh_wiring)  # the graph step built it again

    edited = next(repo.rglob("*.py"))
    edited.write_text(edited.read_text() + "\n\ndef added():\n    return 1\n")
    second = DropWatcher(fresh_wiring)
    run_pass(fresh_wiring, repo, InProcessRunner(fresh_wiring), name="shop", observer=second)
    assert second.during_batches is True  # one changed file among many: kept up to date instead


def test_a_pass_of_many_files_drops_the_vector_index_whatever_is_indexed(
    fresh_wiring: Wiring, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_pass(fresh_wiring, repo, InProcessRunner(fresh_wiring), name="shop")
    monkeypatch.setattr(passes, "BULK_LOAD_FILES", 2)
    for path in sorted(repo.rglob("*.py"))[:2]:
        path.write_text(path.read_text() + "\n# edited\n")
    watcher = DropWatcher(fresh_wiring)
    run_pass(fresh_wiring, repo, InProcessRunner(fresh_wiring), name="shop", observer=watcher)
    assert watcher.during_batches is False
    assert _has_vector_index(fresh_wiring)


def test_a_failed_batch_is_an_outcome_not_an_exception(fresh_wiring: Wiring) -> None:
    fresh_wiring.ensure_schema()
    outcome = InProcessRunner(fresh_wiring).run_batch("ghost", "ghost__0001")
    assert outcome.success is False
    assert outcome.errors == ("batch ghost__0001: repository 'ghost' is not registered",)
    with pytest.raises(StoreError):  # the same error, raised, is what fails a Dagster step
        from mnemo_dagster.indexing.batch import index_batch

        index_batch(fresh_wiring.store, fresh_wiring.embedder, "ghost__0001")
