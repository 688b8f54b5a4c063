"""The cheap signs of change the directory sensor looks at, on real trees: what they see, what they
cannot, and how far one look's sweep goes."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mnemo_dagster.indexing.change_signals import Change, Look, Sweep, find_change, share_budget

HOUR_NS = 3600 * 10**9
IDENTITY = ["-c", "user.name=mnemo-test", "-c", "user.email=test@example.invalid"]


def _tree(root: Path, *paths: str) -> None:
    for rel in paths:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"# {rel}\n")


def _age(root: Path) -> int:
    """Date everything under ``root`` two hours back; returns the start of a scan an hour ago."""
    now = time.time_ns()
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(now - 2 * HOUR_NS, now - 2 * HOUR_NS), follow_symlinks=False)
    return now - HOUR_NS


def _look(root: Path, since: int, sweep: Sweep | None = None, budget: int = 1000) -> Look:
    return find_change(root, since, sweep or Sweep(), budget)


@pytest.fixture
def scanned(tmp_path: Path) -> tuple[Path, int]:
    """Five files scanned an hour ago, untouched since; and the start of that scan."""
    _tree(tmp_path, "a.py", "pkg/b.py", "pkg/c.py", "pkg/deep/d.py", "e.py")
    return tmp_path, _age(tmp_path)


def test_an_untouched_tree_shows_nothing_and_every_file_is_statted(scanned: tuple[Path, int]) -> None:
    root, since = scanned
    assert _look(root, since) == Look(None, Sweep(next=0, files=5), file_stats=5)


@pytest.mark.parametrize(
    ("change", "seen_at"),
    [
        (lambda root: (root / "pkg/new.py").write_text("x = 1\n"), "pkg"),
        (lambda root: (root / "pkg/deep/d.py").unlink(), "pkg/deep"),
        (lambda root: (root / "pkg/b.py").rename(root / "pkg/renamed.py"), "pkg"),
        (lambda root: (root / "a.py").rename(root / "pkg/a.py"), "."),
        (lambda root: (root / "pkg/new_dir").mkdir(), "pkg"),
    ],
    ids=["add", "delete", "rename", "move", "new directory"],
)
def test_adds_deletes_and_renames_move_their_directory(
    scanned: tuple[Path, int], change: Callable[[Path], object], seen_at: str
) -> None:
    root, since = scanned
    change(root)
    look = _look(root, since)
    assert look.change is not None and look.change.path == seen_at


def test_an_edit_in_place_is_seen_by_the_sweep_only(scanned: tuple[Path, int]) -> None:
    root, since = scanned
    with (root / "pkg/c.py").open("a") as handle:  # no directory changes: only the file's mtime moves
        handle.write("# edited\n")
    # The files in look order: a.py, e.py (the root's), pkg/b.py, pkg/c.py, then pkg/deep/d.py.
    first = _look(root, since, Sweep(), budget=2)
    assert first == Look(None, Sweep(next=2, files=5), file_stats=2)
    second = _look(root, since, first.sweep, budget=2)
    assert second.change == Change("pkg/c.py", (root / "pkg/c.py").stat().st_mtime_ns)
    assert second.sweep == first.sweep  # stopped at the change: the scan it leads to looks at everything


def test_the_sweep_comes_round_and_a_budget_of_all_files_checks_all_every_time(
    scanned: tuple[Path, int],
) -> None:
    root, since = scanned
    places = []
    sweep = Sweep()
    for _ in range(4):
        look = _look(root, since, sweep, budget=2)
        places.append((look.sweep.next, look.file_stats))
        sweep = look.sweep
    assert places == [(2, 2), (4, 2), (0, 1), (2, 2)]
    assert _look(root, since, Sweep(next=3, files=5), budget=5).file_stats == 5


def test_ignored_pruned_and_future_dated_files_are_no_sign(scanned: tuple[Path, int]) -> None:
    root, since = scanned
    _tree(root, ".gitignore", "node_modules/lib/index.js", "logs/run.log", "pkg/debug.log")
    (root / ".gitignore").write_text("logs/\n*.log\n")
    since = _age(root)
    (root / "node_modules/lib/index.js").write_text("changed\n")
    (root / "node_modules/lib/more.js").write_text("new\n")  # inside a pruned directory
    (root / "logs/other.log").write_text("new\n")  # inside an ignored one
    (root / "pkg/debug.log").write_text("appended\n")  # an ignored file, written in place
    future = time.time_ns() + HOUR_NS
    os.utime(root / "e.py", ns=(future, future))  # no edit made now gives this
    assert _look(root, since).change is None


def test_a_commit_is_no_sign_but_a_checkout_that_changes_files_is(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *IDENTITY, *args], cwd=tmp_path, capture_output=True, check=True)

    _tree(tmp_path, "app.py", "lib/util.py")
    git("init", "--quiet", "--initial-branch=main")
    git("add", "--all")
    git("commit", "--quiet", "-m", "first")
    git("checkout", "--quiet", "-b", "other")
    (tmp_path / "lib/util.py").write_text("def util():\n    return 2\n")
    git("commit", "--quiet", "-am", "other")
    git("checkout", "--quiet", "main")
    since = _age(tmp_path)

    git("commit", "--quiet", "--allow-empty", "-m", "HEAD moves, the work tree does not")
    git("status", "--porcelain")  # rewrites .git/index
    assert _look(tmp_path, since).change is None
    git("checkout", "--quiet", "other")  # git deletes util.py and writes it anew
    look = _look(tmp_path, since)
    assert look.change is not None and look.change.path == "lib"


def test_a_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _look(tmp_path / "gone", 0)


def test_the_budget_is_shared_by_size() -> None:
    assert share_budget(100, {"big": 300, "small": 100}) == {"big": 75, "small": 25}
    # Not counted yet: an average tree. Enough for everything: each gets all its files.
    assert share_budget(100, {"a": 40, "b": None}) == {"a": 50, "b": 50}
    assert share_budget(1000, {"a": 40, "b": 60}) == {"a": 400, "b": 600}
    assert share_budget(10, {"huge": 10**6, "tiny": 0}) == {"huge": 10, "tiny": 1}  # rounded up
