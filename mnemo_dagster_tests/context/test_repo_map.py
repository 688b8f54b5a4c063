"""The repo map: ``fixtures/graph_repo`` indexed for real for the ranking, the focus, the signatures and
``mnemo map``; a copy of the installed ``pathspec`` package for the token budget on a real library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest
from click.testing import CliRunner
from sqlalchemy import event

from mnemo_dagster.cli import cli
from mnemo_dagster.context.repo_map import RepoMap, match_focus, rank, repo_map
from mnemo_dagster.context.signatures import SKIPPED, render_file, signature_of
from mnemo_dagster.context.tokens import estimate_tokens
from mnemo_dagster.errors import GraphQueryError, UnknownRepositoryError
from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.map_queries import HeadLines, MapEdge, MapGraph, MapNode
from mnemo_dagster.wiring import Wiring
from mnemo_dagster_tests.cli.graph_repo import index_graph_repo

REPO = "mapctx"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, mnemo_home: Path) -> str:
    """``fixtures/graph_repo``, indexed in-process into the session's index as ``mapctx``."""
    return index_graph_repo(tmp_path_factory, REPO)


def _scores(answer: RepoMap) -> dict[str, float]:
    return {s.qualified_name: s.score for f in answer.files for s in f.symbols}


# -- ranking and focus ------------------------------------------------------------------------------


def test_the_most_called_function_ranks_above_a_leaf_and_a_root(
    indexed: str, default_store: IndexStore
) -> None:
    answer = repo_map(default_store, indexed)
    scores = _scores(answer)
    assert len(scores) == answer.total_symbols == 12 and answer.notes == ()
    # validate is called by charge and submit; audit only by charge and calls nothing; main calls, uncalled.
    assert scores["app/orders.py::validate"] > scores["app/billing.py::audit"] > scores["app/main.py::main"]
    assert scores["app/orders.py::validate"] > scores["app/orders.py::submit"]
    assert answer.files[0].path == "app/orders.py"
    for file in answer.files:
        ranked = [s.score for s in file.symbols]
        assert ranked == sorted(ranked, reverse=True)
    assert [f.score for f in answer.files] == sorted((f.score for f in answer.files), reverse=True)


def test_a_focus_on_a_file_puts_it_and_its_neighbours_first(indexed: str, default_store: IndexStore) -> None:
    plain = repo_map(default_store, indexed)
    focused = repo_map(default_store, indexed, focus=["app/billing.py"])
    assert [f.path for f in focused.files[:2]] == ["app/billing.py", "app/orders.py"]
    assert focused.text.startswith("app/billing.py:\n")
    assert focused.focus == ("app/billing.py",) and focused.notes == ()
    # Its callees (validate) and callers (submit) in app/orders.py rank above every other symbol.
    scores, pair = _scores(focused), ("app/billing.py", "app/orders.py")
    near = [score for name, score in scores.items() if name.startswith(pair)]
    far = [score for name, score in scores.items() if not name.startswith(pair)]
    assert len(near) == 4 and min(near) > max(far)
    assert scores["app/orders.py::validate"] > _scores(plain)["app/orders.py::validate"]
    # A tail of a path, a directory, a symbol with its members.
    assert repo_map(default_store, indexed, focus=["billing.py"]).files[0].path == "app/billing.py"
    assert repo_map(default_store, indexed, focus="app/billing.py").focus == ("app/billing.py",)
    by_dir = repo_map(default_store, indexed, focus=["plugins/"])
    assert {f.path for f in by_dir.files[:3]} == {"plugins/alpha.py", "plugins/beta.py", "plugins/gamma.py"}
    worker = repo_map(default_store, indexed, focus=["Worker"], token_budget=48)
    assert worker.files[0].path == "app/jobs.py"
    assert worker.text.startswith("app/jobs.py:\nclass Worker:\n⋮\n    def run(self):\n")
    worker_scores = _scores(worker)  # the focus first, then its caller
    assert worker_scores["app/jobs.py::Worker.run"] > worker_scores["app/jobs.py::run"]


def test_a_focus_that_matches_nothing_is_said(indexed: str, default_store: IndexStore) -> None:
    with pytest.raises(GraphQueryError, match=r"the focus 'nothing_here', 'no/such.py' matches no file"):
        repo_map(default_store, indexed, focus=["nothing_here", "no/such.py"])
    partly = repo_map(default_store, indexed, focus=["validate", "nothing_here"])
    assert partly.notes[0] == "focus 'nothing_here' matches no file, directory or symbol; left out"
    assert partly.files[0].path == "app/orders.py"
    with pytest.raises(GraphQueryError, match="an empty focus item"):
        repo_map(default_store, indexed, focus=[" "])


# -- signatures, text and JSON ----------------------------------------------------------------------


def test_signatures_and_the_text_of_a_file(indexed: str, default_store: IndexStore) -> None:
    answer = repo_map(default_store, indexed)
    symbols = {s.qualified_name: s for f in answer.files for s in f.symbols}
    validate = symbols["app/orders.py::validate"]
    assert (validate.kind, validate.start_line, validate.end_line, validate.signature) == (
        "function",
        4,
        7,
        "def validate(order):",
    )
    assert symbols["app/jobs.py::Worker.run"].signature == "def run(self):"  # without its indentation
    assert symbols["app/jobs.py::Worker"].signature == "class Worker:"
    blocks = answer.text.split("\n" + "app/jobs.py:")
    assert blocks[1].startswith("\nclass Worker:\n⋮\n    def run(self):\n⋮\ndef run():\n⋮\n")
    assert "app/orders.py:\n⋮\ndef validate(order):\n⋮\ndef submit(order):\n⋮\n" in answer.text
    assert "app/__init__.py:\n" in answer.text  # a file without symbols: its path alone


def test_the_json_form(indexed: str, default_store: IndexStore) -> None:
    data = repo_map(default_store, indexed, token_budget=64).as_dict()
    assert set(data) == {
        "repository",
        "focus",
        "token_budget",
        "tokens",
        "total_files",
        "total_symbols",
        "files",
        "notes",
        "text",
    }
    assert (data["repository"], data["token_budget"], data["total_files"]) == (indexed, 64, 8)
    assert data["tokens"] == estimate_tokens(data["text"]) and data["tokens"] <= 64 * 1.15
    assert data["notes"][-1].startswith("showing ") and data["notes"][-1].endswith("shows more")
    first = data["files"][0]
    assert set(first) == {"path", "score", "symbols"}
    assert set(first["symbols"][0]) == {
        "qualified_name",
        "kind",
        "start_line",
        "end_line",
        "signature",
        "score",
    }
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize("budget", [32, 48, 64, 80])
def test_a_small_budget_is_filled_within_15_percent(
    indexed: str, default_store: IndexStore, budget: int
) -> None:
    answer = repo_map(default_store, indexed, token_budget=budget)
    assert 0.85 * budget <= answer.tokens <= 1.15 * budget
    assert answer.tokens == estimate_tokens(answer.text)


def test_a_budget_above_the_whole_map_shows_everything(indexed: str, default_store: IndexStore) -> None:
    answer = repo_map(default_store, indexed, token_budget=4096)
    assert answer.tokens < 4096 * 0.85 and answer.notes == ()
    assert answer.shown_symbols == answer.total_symbols and len(answer.files) == answer.total_files


def test_bad_questions_are_clear_errors(
    indexed: str, default_store: IndexStore, empty_store: IndexStore
) -> None:
    with pytest.raises(UnknownRepositoryError, match=r"^no repository named 'no-such-repo'; known: .*mapctx"):
        repo_map(default_store, "no-such-repo")
    with pytest.raises(GraphQueryError, match="a token budget must be between 32 and 200000, not 8"):
        repo_map(default_store, indexed, token_budget=8)
    with pytest.raises(GraphQueryError, match=r"nothing is indexed yet; run `mnemo index PATH` first"):
        repo_map(empty_store)


# -- pure parts -------------------------------------------------------------------------------------


def _node(qualified_name: str, kind: str = "function", start: int = 1, end: int = 9, id_: int = 1) -> MapNode:
    path, _, dotted = qualified_name.partition("::")
    return MapNode(id_, qualified_name, dotted.rpartition(".")[2] or path, kind, path, start, end)


def test_a_signature_skips_decorators_and_comments_and_keeps_a_long_parameter_list() -> None:
    lines = (
        "    # retried on failure",
        "    @retry(",
        "        times=3,",
        "    )",
        "    @staticmethod",
        "    def charge(",
        "        order: Order,",
        "        card: Card,",
        "    ) -> Receipt:",
        '        """Charge it."""',
    )
    node = _node("a.py::Checkout.charge", "method", 10, 20)
    signature = signature_of(node, HeadLines(1, 10, lines))
    assert signature.line == 15 and signature.lines == lines[5:9]
    assert signature.text == "def charge(\n    order: Order,\n    card: Card,\n) -> Receipt:"
    rust = signature_of(_node("a.rs::parse"), HeadLines(1, 3, ("#[inline]", "pub fn parse(s: &str) -> u8 {")))
    assert (rust.line, rust.text) == (4, "pub fn parse(s: &str) -> u8 {")
    assert signature_of(_node("a.py::f", start=7), None).lines == ("function f",)
    long = signature_of(_node("a.py::g"), HeadLines(1, 1, ("def g(" + "x, " * 100 + "):",)))
    assert len(long.lines[0]) == 160 and long.lines[0].endswith("…")


def test_skipped_lines_are_marked() -> None:
    sigs = [signature_of(_node("a.py::A", "class"), HeadLines(1, 1, ("class A:",)))]
    sigs.append(signature_of(_node("a.py::A.m", "method"), HeadLines(2, 5, ("    def m(self):",))))
    assert render_file("a.py", sigs, 9) == f"a.py:\nclass A:\n{SKIPPED}\n    def m(self):\n{SKIPPED}"
    assert render_file("a.py", sigs[:1], 1) == "a.py:\nclass A:"
    assert render_file("b.py", [], 30) == "b.py:"


def test_a_focus_ranks_first_then_what_it_calls_and_what_calls_it() -> None:
    nodes = tuple(_node(f"m.py::{name}", id_=k) for k, name in enumerate(("top", "mid", "leaf", "lone"), 1))
    graph = MapGraph("r", nodes, (MapEdge(1, 2, "calls", 1), MapEdge(2, 3, "calls", 1)))
    plain = rank(graph)
    assert plain[3] > plain[2] > plain[1] == plain[4] and abs(sum(plain.values()) - 1) < 1e-9
    mid = rank(graph, {2})
    assert mid[2] > mid[3] > mid[1] > mid[4]


def test_focus_items_name_files_directories_and_symbols() -> None:
    nodes = [
        MapNode(1, "app/orders.py", "orders.py", "module", "app/orders.py", 1, 20),
        MapNode(2, "app/orders.py::Checkout", "Checkout", "class", "app/orders.py", 3, 20),
        MapNode(3, "app/orders.py::Checkout.submit", "submit", "method", "app/orders.py", 5, 9),
        MapNode(4, "lib/util.py::submit", "submit", "function", "lib/util.py", 1, 4),
    ]
    assert match_focus(nodes, ["orders.py"]) == ({1, 2, 3}, [])
    assert match_focus(nodes, ["./lib"]) == ({4}, [])
    assert match_focus(nodes, ["Checkout"]) == ({2, 3}, [])
    assert match_focus(nodes, ["submit", "ship"]) == ({3, 4}, ["ship"])
    assert match_focus(nodes, ["rders.py"]) == (set(), ["rders.py"])


# -- mnemo map --------------------------------------------------------------------------------------


def _map(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["map", *args])
    return result.exit_code, result.stdout, result.stderr


def test_mnemo_map_prints_the_map_and_its_json(indexed: str) -> None:
    code, out, err = _map(indexed, "--focus", "app/billing.py", "--tokens", "48")
    assert (code, out) == (
        0,
        "app/billing.py:\n⋮\ndef audit(order):\n⋮\ndef charge(order):\n⋮\n"
        "app/orders.py:\n⋮\ndef validate(order):\n⋮\ndef submit(order):\n⋮\n"
        "plugins/gamma.py:\n⋮\ndef gamma_hook():\n⋮\n"
        "app/jobs.py:\nclass Worker:\n⋮\n",
    )
    assert err == "mnemo: showing 4 of 8 files and 6 of 12 symbols; a larger token budget shows more\n"
    code, out, err = _map(indexed, "--json", "--focus", "validate", "--focus", "Worker.run")
    data = json.loads(out)
    assert (code, err, data["focus"], data["token_budget"]) == (0, "", ["validate", "Worker.run"], 1024)
    assert data["files"][0]["symbols"][0]["signature"] in {"def validate(order):", "def run(self):"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-repo"], "mnemo: no repository named 'no-such-repo'; known: "),
        ([REPO, "--focus", "nothing_here"], "mnemo: the focus 'nothing_here' matches no file, directory"),
        ([REPO, "--tokens", "8"], "mnemo: a token budget must be between 32 and 200000, not 8\n"),
    ],
)
def test_mnemo_map_bad_input_is_one_line_and_exit_2(indexed: str, args: list[str], message: str) -> None:
    code, out, err = _map(*args)
    assert (code, out) == (2, "") and err.startswith(message) and "Traceback" not in err


def test_mnemo_map_loads_no_embedding_model(indexed: str) -> None:
    code = (
        "import sys\n"
        "from mnemo_dagster.cli import main\n"
        f"assert main(['map', {indexed!r}, '--tokens', '64']) == 0\n"
        "heavy = ('torch', 'sentence_transformers', 'transformers')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "app/orders.py:" and done.stdout.splitlines()[-1] == "[]"


# -- a real library ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_library_fits_each_budget_in_a_bounded_number_of_queries(
    tmp_path: Path, fresh_wiring: Wiring
) -> None:
    """The installed ``pathspec`` package (about 30 files, 4,500 lines), indexed into a database of its
    own: each budget is met within 15%, with few queries, and every signature is a line of the source."""
    root = tmp_path / "pathspec"
    shutil.copytree(Path(pathspec.__file__).parent, root, ignore=shutil.ignore_patterns("__pycache__"))
    assert run_pass(fresh_wiring, root, InProcessRunner(fresh_wiring), name="mapbig").ok
    store = fresh_wiring.store

    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    answers: dict[int, RepoMap] = {}
    for budget in (256, 512, 1024, 2048):
        statements.clear()
        answers[budget] = answer = repo_map(store, None, (), budget)
        # Whether the tables exist, the repositories, the nodes, the edges, the first lines of the symbols.
        assert len(statements) == 5, statements
        assert answer.repository == "mapbig"  # the only repository of this database
        assert 0.85 * budget <= answer.tokens <= 1.15 * budget, (budget, answer.tokens)
        assert answer.tokens == estimate_tokens(answer.text)
    assert answers[256].shown_symbols < answers[2048].shown_symbols

    whole = repo_map(store, None, (), 50_000)
    assert whole.notes == () and whole.shown_symbols == whole.total_symbols > 100
    for file in whole.files:
        source = [line.strip() for line in (root / file.path).read_text().splitlines()]
        for symbol in file.symbols:
            first = symbol.signature.splitlines()[0].strip()
            assert first.startswith(("def ", "class ", "async def ")), (file.path, symbol)
            assert first.rstrip("…") in "\n".join(source[symbol.start_line - 1 : symbol.end_line])

    focused = repo_map(store, None, ["patterns/"], 512)
    assert focused.files[0].path.startswith("patterns/")
    assert 0.85 * 512 <= focused.tokens <= 1.15 * 512
