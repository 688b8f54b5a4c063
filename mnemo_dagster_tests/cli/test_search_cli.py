"""`mnemo search` and the resident search service, against the sample repository indexed for real.

The output tests run the command in-process (CliRunner, ``MNEMO_SEARCH_SERVICE=0``); the service tests
start real service processes on a Unix socket under a temporary MNEMO_HOME.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

import mnemo_dagster
from mnemo_dagster.cli import cli
from mnemo_dagster.cli.search_cmd import JSON_FIELDS
from mnemo_dagster.config.settings import Settings
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.passes import run_pass
from mnemo_dagster.indexing.runners import InProcessRunner
from mnemo_dagster.retrieval.service import search_via_service, service_paths, start_service
from mnemo_dagster.store.server import DatabaseUrls, resolve_urls
from mnemo_dagster.wiring import Wiring
from mnemo_dagster_tests.databases import new_database

SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


@pytest.fixture(scope="module")
def shop_env(
    urls: DatabaseUrls, embedder: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The environment of an index of the sample repository (as ``shop``) in its own database."""
    with new_database(urls) as shop:
        env = {"MNEMO_DATABASE_URL": shop.libpq, "MNEMO_HOME": str(tmp_path_factory.mktemp("search-home"))}
        saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        try:
            settings = Settings.from_env()
            wiring = Wiring(settings, resolve_urls(settings))
            wiring.embedder = embedder
            repo = tmp_path_factory.mktemp("src") / "shop"
            shutil.copytree(SAMPLE, repo)
            assert run_pass(wiring, repo, InProcessRunner(wiring), name="shop").ok
            wiring.close()
        finally:
            for key, value in saved.items():
                os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
        yield env


def _mnemo(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={**env, "MNEMO_SEARCH_SERVICE": "0"})
    return result.exit_code, result.stdout, result.stderr


# -- output ------------------------------------------------------------------------------------------


def test_text_output_shows_location_kind_and_signature(shop_env: dict[str, str]) -> None:
    code, out, _ = _mnemo(shop_env, "search", "parse_price", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("shop  shop/checkout.py:5-8  function parse_price  [score ")
    assert lines[0].endswith(", exact match]")
    assert lines[1] == "    def parse_price(text: str) -> int:"
    assert len(lines) == 4  # two hits, two lines each

    code, out, _ = _mnemo(shop_env, "search", "parse_price", "--limit", "1", "--show-code")
    assert out.splitlines()[1:] == [
        "    5  def parse_price(text: str) -> int:",
        '    6      """Turn a price such as \'12.50\' into cents."""',
        '    7      whole, _, frac = text.partition(".")',
        '    8      return int(whole) * 100 + int((frac + "00")[:2])',
    ]


def test_json_keeps_the_old_fields_and_adds_new_ones(shop_env: dict[str, str]) -> None:
    code, out, _ = _mnemo(shop_env, "search", "Checkout.place_order", "--json", "--limit", "3")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3
    assert list(hits[0]) == list(JSON_FIELDS)
    assert {"qualified_name", "file_path", "start_line", "end_line", "kind", "language", "score"} <= set(
        hits[0]
    )
    # The method lives in its class's one chunk; the hit is the method's own lines.
    assert (hits[0]["qualified_name"], hits[0]["kind"], hits[0]["match"]) == (
        "shop/checkout.py::Checkout.place_order",
        "method",
        "exact",
    )
    assert hits[0]["signature"] == "def place_order(self, rows):" and hits[0]["start_line"] == 15
    with_code = json.loads(_mnemo(shop_env, "search", "retry.py", "--json", "--show-code", "--limit", "1")[1])
    assert with_code[0]["file_path"] == "shop/retry.py"
    lines = with_code[0]["end_line"] - with_code[0]["start_line"] + 1
    assert len(with_code[0]["content"].splitlines()) == lines > 1


def test_filters_from_the_command_line(shop_env: dict[str, str]) -> None:
    def paths(*options: str) -> set[str]:
        code, out, _ = _mnemo(shop_env, "search", "total of the cart", "--json", "--limit", "50", *options)
        assert code == 0
        return {hit["file_path"] for hit in json.loads(out)}

    assert paths("--language", "typescript") == {"web/cart.ts", "web/format.ts"}
    assert paths("--path", "web/*") == {"web/cart.ts", "web/format.ts"}
    assert paths("--path", "*.py", "--kind", "class") == {"shop/checkout.py", "shop/models.py"}
    assert paths("--repo", "shop", "--path", "shop/retry.py") == {"shop/retry.py"}


EMPTY = "mnemo: the query is empty: give some words, a name or a path to search for\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["", "--repo", "shop"],
            2,
            "mnemo: the query is empty: give some words, a name or a path to search for\n",
        ),
        (["   "], 2, "mnemo: the query is empty: give some words, a name or a path to search for\n"),
        (["anything", "--repo", "nope"], 2, "mnemo: no repository named 'nope'; known: shop\n"),
        (
            ["x" * 10_000, "--limit", "1"],
            0,
            "mnemo: the query has 10000 characters; searching its first 2000\n",
        ),
        (["'; DROP TABLE code_chunks; --", "--limit", "1"], 0, ""),
        (["a & b | !c:* %_\\", "--limit", "1"], 0, ""),
    ],
)
def test_bad_input_gets_a_clear_message_and_no_traceback(
    shop_env: dict[str, str], args: list[str], code: int, message: str
) -> None:
    exit_code, out, err = _mnemo(shop_env, "search", *args)
    assert (exit_code, err) == (code, message)
    if code == 0:
        assert len(out.splitlines()) == 2  # one hit: its header and its signature
    assert _mnemo(shop_env, "search", "parse_price", "--limit", "1")[1].startswith("shop  shop/checkout.py")


def test_a_name_with_no_match_says_so(shop_env: dict[str, str]) -> None:
    code, out, _ = _mnemo(shop_env, "search", "parse_price", "--kind", "function", "--path", "nowhere/**")
    assert (code, out) == (0, "No results for 'parse_price' with --kind function --path nowhere/**.\n")


def test_a_filter_no_chunk_can_match_is_refused_with_the_valid_values(shop_env: dict[str, str]) -> None:
    code, out, err = _mnemo(shop_env, "search", "parse_price", "--kind", "no-such-kind")
    assert (code, out) == (2, "")
    assert err.startswith("mnemo: unknown kind 'no-such-kind'; choose from class, function, method")
    code, _, err = _mnemo(shop_env, "search", "parse_price", "--language", "pyhton")
    assert code == 2 and "unknown language 'pyhton'; choose from " in err and ", python," in err


def test_an_empty_index_says_nothing_is_indexed(urls: DatabaseUrls, tmp_path: Path) -> None:
    with new_database(urls) as empty:
        env = {"MNEMO_DATABASE_URL": empty.libpq, "MNEMO_HOME": str(tmp_path)}
        code, out, err = _mnemo(env, "search", "parse_price")
    assert (code, out, err) == (2, "", "mnemo: nothing is indexed yet; run `mnemo index PATH` first\n")


# -- the Python API ----------------------------------------------------------------------------------


def test_the_python_api_reuses_one_index_per_process(
    shop_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in shop_env.items():
        monkeypatch.setenv(key, value)
    first = mnemo_dagster.search("parse_price", limit=1)
    index = mnemo_dagster.shared_index()
    model = index.embedder.model  # type: ignore[union-attr]
    second = mnemo_dagster.search("shop/retry.py", repository="shop", limit=1)

    assert [(h.qualified_name, h.match) for h in first] == [("shop/checkout.py::parse_price", "exact")]
    assert second[0].file_path == "shop/retry.py"
    assert mnemo_dagster.shared_index() is index and index.embedder.model is model  # type: ignore[union-attr]
    assert isinstance(index, mnemo_dagster.Index)
    monkeypatch.setenv("MNEMO_HOME", shop_env["MNEMO_HOME"] + "-other")  # another index: another client
    assert mnemo_dagster.shared_index() is not index
    mnemo_dagster.shared_index().close()


# -- the resident service ----------------------------------------------------------------------------


def _service_env(shop_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = {**os.environ, **shop_env, "MNEMO_SEARCH_SERVICE": "1", **extra}
    env.pop("DAGSTER_HOME", None)
    return env


def _shell_search(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "mnemo"), "search", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_the_cli_starts_the_service_once_and_reuses_it(
    shop_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _service_env(shop_env, MNEMO_HOME=str(tmp_path), MNEMO_SEARCH_IDLE_SECONDS="60")
    monkeypatch.setenv("MNEMO_HOME", str(tmp_path))
    monkeypatch.setenv("MNEMO_DATABASE_URL", shop_env["MNEMO_DATABASE_URL"])
    paths = service_paths(Settings.from_env())
    try:
        first = _shell_search(env, "parse_price", "--json", "--limit", "1")
        second = _shell_search(env, "shop/retry.py", "--json", "--limit", "1")
        unknown = _shell_search(env, "anything", "--repo", "nope")
        log = paths.log.read_text()
    finally:
        _stop(paths.log)
    assert json.loads(first.stdout)[0]["qualified_name"] == "shop/checkout.py::parse_price"
    assert json.loads(second.stdout)[0]["file_path"] == "shop/retry.py"
    assert (unknown.returncode, unknown.stderr) == (2, "mnemo: no repository named 'nope'; known: shop\n")
    assert log.count("listening on") == 1  # one service answered all three


def _stop(log: Path) -> None:
    """Stop the services whose log is ``log`` (each logs its pid when it starts listening)."""
    for pid in re.findall(r"search service (\d+) listening", log.read_text() if log.exists() else ""):
        try:
            psutil.Process(int(pid)).terminate()
            psutil.Process(int(pid)).wait(30)
        except psutil.Error:
            pass  # already gone


@pytest.mark.slow
def test_two_starters_race_one_serves_then_it_exits_when_idle(
    shop_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in _service_env(shop_env, MNEMO_HOME=str(tmp_path), MNEMO_SEARCH_IDLE_SECONDS="3").items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env()
    first, second = start_service(settings), start_service(settings)
    assert first is not None and second is not None

    answer = search_via_service(settings, {"query": "parse_price", "limit": 1})

    assert answer is not None and answer["hits"][0]["qualified_name"] == "shop/checkout.py::parse_price"
    # The losers of the lock exit; the one service serves, then exits after 3 idle seconds.
    assert first.wait(120) == 0 and second.wait(120) == 0
    log = service_paths(settings).log
    served = re.findall(r"search service (\d+) listening", log.read_text())
    assert len(served) == 1
    with contextlib.suppress(psutil.NoSuchProcess):
        psutil.Process(int(served[0])).wait(120)
    assert not service_paths(settings).socket.exists()
    assert log.read_text().count("idle for 3 s: exiting") == 1


@pytest.mark.slow
def test_without_a_service_the_search_runs_in_process(
    shop_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "run").write_text("not a directory")  # the service cannot create its socket here
    for key, value in _service_env(shop_env, MNEMO_HOME=str(home)).items():
        monkeypatch.setenv(key, value)
    assert search_via_service(Settings.from_env(), {"query": "parse_price"}) is None

    result = _shell_search(
        _service_env(shop_env, MNEMO_HOME=str(home)), "parse_price", "--json", "--limit", "1"
    )
    assert result.returncode == 0 and json.loads(result.stdout)[0]["name"] == "parse_price"

    monkeypatch.setenv("MNEMO_SEARCH_SERVICE", "0")
    monkeypatch.setenv("MNEMO_HOME", str(tmp_path / "untouched"))
    assert search_via_service(Settings.from_env(), {"query": "parse_price"}) is None
    assert not (tmp_path / "untouched").exists()  # turned off: nothing was started


def test_hits_from_files_changed_since_indexing_are_marked_stale(
    urls: DatabaseUrls, embedder: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "tax"
    repo.mkdir()
    (repo / "rates.py").write_text("def vat_rate(country):\n    return 0.2\n")
    (repo / "totals.py").write_text("def gross_total(net):\n    return net * 1.2\n")
    with new_database(urls) as db:
        env = {"MNEMO_DATABASE_URL": db.libpq, "MNEMO_HOME": str(tmp_path / "home")}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings.from_env()
        wiring = Wiring(settings, resolve_urls(settings))
        wiring.embedder = embedder
        try:
            assert run_pass(wiring, repo, InProcessRunner(wiring), name="tax").ok

            def stale() -> dict[str, bool]:
                code, out, _ = _mnemo(env, "search", "tax rate and totals", "--json")
                assert code == 0
                return {hit["file_path"]: hit["stale"] for hit in json.loads(out)}

            assert stale() == {"rates.py": False, "totals.py": False}
            # Edited after the pass: its hits are marked until the next pass.
            (repo / "rates.py").write_text("def vat_rate(country):\n    return 0.25\n\n")
            assert stale() == {"rates.py": True, "totals.py": False}
            text = _mnemo(env, "search", "vat_rate")[1]
            assert (
                "rates.py:1-2  function vat_rate  [score" in text and "changed on disk since indexed]" in text
            )
            (repo / "totals.py").unlink()
            assert stale() == {"rates.py": True, "totals.py": True}
            assert run_pass(wiring, repo, InProcessRunner(wiring), name="tax").ok
            assert stale() == {"rates.py": False}
        finally:
            wiring.close()


def test_the_search_command_loads_neither_the_graph_nor_the_database_drivers() -> None:
    # What `mnemo search` imports before it asks the service: each module here costs a shell's search
    # tens of milliseconds (the graph and MCP modules together about 0.25 s).
    heavy = ("mnemo_dagster.graph", "mnemo_dagster.mcp", "pydantic", "sqlalchemy", "torch", "dagster")
    script = (
        "import sys\nfrom mnemo_dagster.cli import cli\ncli.get_command(None, 'search')\n"
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    assert sorted(cli.list_commands(None)) == sorted(  # type: ignore[arg-type]
        ["batches", "db", "env", "graph", "impact", "index", "map", "mcp", "search", "status"]
    )
