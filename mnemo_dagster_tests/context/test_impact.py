"""Change impact end to end: a git repository made of ``fixtures/graph_repo`` and a test file, indexed
for real, then changed, and asked about through :func:`impact` and ``mnemo impact``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mnemo_dagster.cli import cli
from mnemo_dagster.context.diffs import parse_diff
from mnemo_dagster.context.impact import Impact, ImpactedSymbol, impact
from mnemo_dagster.context.impact_text import impact_text
from mnemo_dagster.errors import ConfigError, GraphQueryError, SymbolNotFoundError, UnknownRepositoryError
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import wire
from mnemo_dagster_tests.cli.graph_repo import GRAPH_REPO

REPO = "impactrepo"
TESTS = """from app.main import main
from app.orders import submit


def test_submit():
    assert submit({"items": [1]})


def test_main():
    main([])
"""
OLD_RAISE = 'raise ValueError("an order needs items")'
NEW_RAISE = 'raise ValueError("an order needs at least one item")'


@dataclass(frozen=True)
class Repo:
    root: Path
    base: str
    edited: str


def _git(root: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t"}
    env |= {"GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root.parent)}
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def _index(root: Path) -> None:
    result = CliRunner().invoke(cli, ["index", str(root), "--name", REPO, "--in-process", "--json"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, mnemo_home: Path) -> Repo:
    """The repository indexed at its first commit, then ``validate``'s body edited in a second one."""
    root = tmp_path_factory.mktemp("impact") / "shop"
    shutil.copytree(GRAPH_REPO, root)
    (root / "tests").mkdir()
    (root / "tests" / "test_orders.py").write_text(TESTS)
    _git(root, "init", "--quiet", "--initial-branch=main")
    _git(root, "add", "-A")
    _git(root, "commit", "--quiet", "-m", "base")
    _index(root)
    orders = root / "app" / "orders.py"
    orders.write_text(orders.read_text().replace(OLD_RAISE, NEW_RAISE))
    _git(root, "commit", "--quiet", "-am", "edit validate")
    heads = _git(root, "rev-list", "HEAD").split()
    return Repo(root, base=heads[1], edited=heads[0])


@pytest.fixture(scope="module")
def store(repo: Repo) -> Iterator[IndexStore]:
    with wire() as wiring:
        yield wiring.store


def _reached(found: tuple[ImpactedSymbol, ...]) -> list[tuple[int, str, tuple[str, ...]]]:
    """(distance, qualified name, path) of each, in the answer's order within a distance (by name)."""
    return sorted((f.distance, f.symbol.qualified_name, f.path) for f in found)


VALIDATE = "app/orders.py::validate"
SUBMIT = "app/orders.py::submit"
CALLERS_OF_VALIDATE = [
    (1, "app/billing.py::charge", ("app/billing.py::charge", VALIDATE)),
    (1, SUBMIT, (SUBMIT, VALIDATE)),
    (2, "app/main.py::main", ("app/main.py::main", SUBMIT, VALIDATE)),
]
TESTS_OF_VALIDATE = [
    (2, "tests/test_orders.py::test_submit", ("tests/test_orders.py::test_submit", SUBMIT, VALIDATE)),
    (
        3,
        "tests/test_orders.py::test_main",
        ("tests/test_orders.py::test_main", "app/main.py::main", SUBMIT, VALIDATE),
    ),
]


def _check_validate_impact(answer: Impact) -> None:
    assert [(c.symbol.qualified_name, c.lines) for c in answer.changed] == [(VALIDATE, ((7, 7),))]
    assert _reached(answer.callers) == CALLERS_OF_VALIDATE
    assert _reached(answer.tests) == TESTS_OF_VALIDATE
    main = next(c for c in answer.callers if c.distance == 2)
    assert main.edges == ("calls", "calls")
    # Ranked: distance first, then PageRank (highest first).
    keys = [(c.distance, -c.pagerank) for c in answer.callers]
    assert keys == sorted(keys)
    assert answer.cut == {"files": 0, "changed": 0, "callers": 0, "tests": 0}


def test_a_commit_range_gives_the_edited_function_its_callers_and_the_tests(
    repo: Repo, store: IndexStore
) -> None:
    answer = impact(store, REPO, commits="HEAD~1..HEAD")
    assert (answer.source, answer.depth, answer.test_depth) == ("commits", 3, 5)
    assert answer.subject == f"HEAD~1..HEAD ({repo.base[:12]}..{repo.edited[:12]})"
    # The index is older than the edit: it holds the old side, as the content hashes show.
    assert [f.as_dict() for f in answer.files] == [
        {
            "path": "app/orders.py",
            "old_path": "app/orders.py",
            "new_path": "app/orders.py",
            "side": "old",
            "status": "indexed",
            "lines": [[7, 7]],
        }
    ]
    _check_validate_impact(answer)
    assert answer.notes == ()
    # One commit is its change against its parent; a shallower walk still finds the tests further out.
    assert impact(store, REPO, commits="HEAD").changed == answer.changed
    shallow = impact(store, REPO, commits=f"{repo.base}..{repo.edited}", depth=1)
    assert _reached(shallow.callers) == CALLERS_OF_VALIDATE[:2]
    assert _reached(shallow.tests) == TESTS_OF_VALIDATE
    cut = impact(store, REPO, commits="HEAD~1..HEAD", limit=1)
    assert (len(cut.callers), cut.cut["callers"], len(cut.tests), cut.cut["tests"]) == (1, 2, 1, 1)
    assert "... and 2 more callers (raise --limit)" in impact_text(cut)


def test_diff_text_and_symbol_names_give_the_same_answer(repo: Repo, store: IndexStore) -> None:
    diff = _git(repo.root, "diff", "HEAD~1", "HEAD")
    answer = impact(store, REPO, diff=diff)
    assert (answer.source, answer.files[0].side, answer.files[0].status) == ("diff", "old", "assumed")
    _check_validate_impact(answer)

    named = impact(store, REPO, symbols=["validate"])
    assert [(c.symbol.qualified_name, c.lines) for c in named.changed] == [(VALIDATE, ())]
    assert (_reached(named.callers), _reached(named.tests)) == (CALLERS_OF_VALIDATE, TESTS_OF_VALIDATE)

    two = impact(store, REPO, symbols=["app/orders.py::submit", "charge"])
    assert [c.symbol.qualified_name for c in two.changed] == ["app/billing.py::charge", SUBMIT]
    assert _reached(two.callers) == [(1, "app/main.py::main", ("app/main.py::main", SUBMIT))]
    assert [(t.distance, t.symbol.qualified_name) for t in two.tests] == [
        (1, "tests/test_orders.py::test_submit"),
        (2, "tests/test_orders.py::test_main"),
    ]


def test_a_module_level_change_reaches_the_importers_and_a_new_function_only_its_module(
    store: IndexStore,
) -> None:
    # The import line of app/orders.py changes, and a function is added after submit's last line.
    diff = (
        "diff --git a/app/orders.py b/app/orders.py\n"
        "--- a/app/orders.py\n"
        "+++ b/app/orders.py\n"
        "@@ -1 +1 @@\n"
        "-from app.billing import charge\n"
        "+from app.billing import audit, charge\n"
        "@@ -13,0 +14,4 @@ def submit(order):\n"
        "+\n"
        "+\n"
        "+def cancel(order):\n"
        "+    return audit(order)\n"
    )
    answer = impact(store, REPO, diff=diff, depth=1)
    assert [(c.symbol.qualified_name, c.lines) for c in answer.changed] == [
        ("app/orders.py", ((1, 1), (14, 14)))
    ]
    assert sorted((c.distance, c.symbol.qualified_name, c.edges) for c in answer.callers) == [
        (1, "app/billing.py", ("imports",)),
        (1, "app/main.py", ("imports",)),
    ]
    assert [(t.distance, t.symbol.qualified_name, t.edges) for t in answer.tests] == [
        (1, "tests/test_orders.py", ("imports",))
    ]
    # A method edited inside a class is the method, not the class; an unindexed file is noted.
    method = impact(
        store,
        REPO,
        diff="--- a/app/jobs.py\n+++ b/app/jobs.py\n@@ -5 +5 @@\n-        return 'done'\n"
        "+        return 'ok'\n--- /dev/null\n+++ b/README.md\n@@ -0,0 +1 @@\n+# shop\n",
    )
    assert [c.symbol.qualified_name for c in method.changed] == ["app/jobs.py::Worker.run"]
    assert [f.status for f in method.files] == ["assumed", "not indexed"]
    assert method.notes == ("1 changed file(s) not in the index: README.md",)


def test_parse_diff_maps_both_sides() -> None:
    (only,) = parse_diff(
        "--- a/m.py\n+++ b/m.py\n@@ -4,3 +4,4 @@ def f():\n     a = 1\n-    b = 2\n+    b = 3\n+    c = 4\n"
        "     return b\n@@ -20,2 +21,0 @@\n-    gone()\n-\n"
    )
    assert (only.old_path, only.new_path) == ("m.py", "m.py")
    assert (only.old_lines, only.new_lines) == ((5, 20), (5, 6, 21))


def test_bad_questions_are_clear_errors(repo: Repo, store: IndexStore) -> None:
    with pytest.raises(SymbolNotFoundError, match="no symbol named 'valid8'"):
        impact(store, REPO, symbols=["valid8"])
    with pytest.raises(GraphQueryError, match="unknown revision 'nope'"):
        impact(store, REPO, commits="HEAD~1..nope")
    with pytest.raises(GraphQueryError, match="give exactly one of"):
        impact(store, REPO, diff="", symbols=["validate"])
    with pytest.raises(GraphQueryError, match="give exactly one of"):
        impact(store, REPO)
    with pytest.raises(GraphQueryError, match="no file header"):
        impact(store, REPO, diff="this is not a diff\n")
    with pytest.raises(UnknownRepositoryError, match="no repository named 'nosuch'"):
        impact(store, "nosuch", symbols=["validate"])
    away = repo.root.parent / "git-away"
    (repo.root / ".git").rename(away)
    try:
        with pytest.raises(ConfigError, match="is not a git checkout"):
            impact(store, REPO, commits="HEAD~1..HEAD")
    finally:
        away.rename(repo.root / ".git")


def _impact(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["impact", *args], input=stdin)


def test_the_command_prints_text_and_json(
    repo: Repo, store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _impact(REPO, "--symbol", "submit", "--symbol", "charge")
    assert (text.exit_code, text.stderr) == (0, "")
    assert text.stdout == (
        "Change impact in impactrepo of symbols submit, charge: 2 changed, 1 caller(s) within 3, "
        "2 test(s) within 5\n"
        "Changed:\n"
        "  app/billing.py::charge  function  app/billing.py:9-12\n"
        "  app/orders.py::submit   function  app/orders.py:10-13\n"
        "Callers (distance, symbol, place, path):\n"
        "   1  app/main.py::main  app/main.py:5-9  main -calls-> submit\n"
        "Tests (distance, test, place, path):\n"
        "   1  tests/test_orders.py::test_submit  tests/test_orders.py:5-6   test_submit -calls-> submit\n"
        "   2  tests/test_orders.py::test_main    tests/test_orders.py:9-10  "
        "test_main -calls-> main -calls-> submit\n"
    )
    data = json.loads(_impact(REPO, "--commits", "HEAD~1..HEAD", "--json").stdout)
    assert [c["qualified_name"] for c in data["changed"]] == [VALIDATE]
    assert [(c["distance"], c["qualified_name"]) for c in data["callers"]][-1] == (2, "app/main.py::main")
    assert data["tests"][0]["path"] == ["tests/test_orders.py::test_submit", SUBMIT, VALIDATE]
    assert data["tests"][0]["edges"] == ["calls", "calls"]

    # `git diff | mnemo impact --diff -`, from inside the repository: it is found by the directory.
    monkeypatch.chdir(repo.root)
    piped = _impact("--diff", "-", "--depth", "1", stdin=_git(repo.root, "diff", "HEAD~1", "HEAD"))
    assert piped.exit_code == 0, piped.output
    lines = piped.stdout.splitlines()
    assert lines[0] == (
        "Change impact in impactrepo of diff diff text: 1 changed, 2 caller(s) within 1, 2 test(s) within 3"
    )
    assert lines[1:4] == [
        "Files (changed lines, in the version the index holds):",
        "  app/orders.py  7  [old side, assumed]",
        "Changed:",
    ]
    assert lines[4].split() == [VALIDATE, "function", "app/orders.py:4-7", "lines", "7"]

    usage = _impact(REPO)
    assert usage.exit_code == 2 and "give exactly one of --diff" in usage.stderr
    bad = _impact(REPO, "--commits", "HEAD..nope")
    assert (bad.exit_code, bad.stderr) == (
        2,
        f"mnemo: unknown revision 'nope': no such commit in {repo.root}\n",
    )


def test_an_index_of_the_new_side_is_read_on_the_new_side(repo: Repo, store: IndexStore) -> None:
    """Last: it indexes the edited commit, which the other tests assume is not indexed."""
    orders = repo.root / "app" / "orders.py"
    orders.write_text(
        orders.read_text().replace("def validate(order):\n", "def validate(order):\n    # new\n")
    )
    _git(repo.root, "commit", "--quiet", "-am", "a comment in validate")
    _index(repo.root)
    answer = impact(store, REPO, commits="HEAD~1..HEAD")
    assert [(f.side, f.status, f.lines) for f in answer.files] == [("new", "indexed", ((5, 5),))]
    assert [c.symbol.qualified_name for c in answer.changed] == [VALIDATE]
    assert (_reached(answer.callers), _reached(answer.tests)) == (CALLERS_OF_VALIDATE, TESTS_OF_VALIDATE)
    # The index now holds neither side of the first commit: the old side is read, with a note.
    stale = impact(store, REPO, commits=f"{repo.base}..{repo.edited}")
    assert [(f.side, f.status) for f in stale.files] == [("old", "stale")]
    assert stale.notes == (
        "app/orders.py: the index holds neither side of the change (re-index it); its lines are read as the "
        "old side's",
    )
