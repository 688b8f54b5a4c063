"""`mnemo graph ...` end to end: ``fixtures/graph_repo`` indexed through the CLI, then asked about."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mnemo_dagster.cli import cli, main
from mnemo_dagster_tests.cli.graph_repo import index_graph_repo

REPO = "graphcli"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, mnemo_home: Path) -> str:
    """The fixture repository, indexed in-process into the session's index as ``graphcli``."""
    return index_graph_repo(tmp_path_factory, REPO)


def _graph(*args: str) -> Result:
    return CliRunner().invoke(cli, ["graph", *args])


def test_callers_and_callees_in_text_and_json(indexed: str) -> None:
    text = _graph("callers", "validate", "--repo", indexed)
    assert (text.exit_code, text.stderr) == (0, "")
    assert text.stdout == (
        "app/orders.py::validate (function, app/orders.py:4-7, graphcli) called by 2:\n"
        "  app/billing.py::charge  app/billing.py:9-12\n"
        "  app/orders.py::submit   app/orders.py:10-13\n"
    )
    data = json.loads(_graph("callees", "app/main.py::main", "--repo", indexed, "--json").stdout)
    assert data["symbol"]["qualified_name"] == "app/main.py::main"
    assert [(c["qualified_name"], c["edge"], c["start_line"]) for c in data["callees"]] == [
        ("app/jobs.py::run", "calls", 8),
        ("app/orders.py::submit", "calls", 10),
    ]
    imports = json.loads(
        _graph("callers", "app/orders.py", "--repo", indexed, "--via", "imports", "--json").stdout
    )
    assert [c["qualified_name"] for c in imports["callers"]] == ["app/billing.py", "app/main.py"]
    leaf = _graph("callees", "audit", "--repo", indexed)
    assert leaf.stdout == "app/billing.py::audit (function, app/billing.py:4-6, graphcli): no callees\n"


def test_calls_into_builtins_and_other_packages(indexed: str) -> None:
    text = _graph("callers", "<builtin>::ValueError", "--repo", indexed)
    assert (text.exit_code, text.stderr) == (0, "")
    assert text.stdout.splitlines() == [
        "<builtin>::ValueError (builtin, outside the repository, graphcli) called by 1:",
        "  app/orders.py::validate  app/orders.py:4-7",
    ]
    # Callees leave them out unless asked; PageRank never ranks them.
    assert json.loads(_graph("callees", "validate", "--repo", indexed, "--json").stdout)["callees"] == []
    outside = json.loads(_graph("callees", "validate", "--repo", indexed, "--external", "--json").stdout)
    assert [(c["qualified_name"], c["kind"]) for c in outside["callees"]] == [
        ("<builtin>::ValueError", "builtin")
    ]
    ranked = json.loads(_graph("top", "--repo", indexed, "--limit", "100", "--json").stdout)
    assert len(ranked) > 10 and not [s for s in ranked if s["qualified_name"].startswith("<")]


def test_top_cycles_and_path(indexed: str) -> None:
    ranked = json.loads(
        _graph("top", "--repo", indexed, "--kind", "function", "--limit", "3", "--json").stdout
    )
    assert len(ranked) == 3 and {r["kind"] for r in ranked} == {"function"}
    assert [r["pagerank"] for r in ranked] == sorted((r["pagerank"] for r in ranked), reverse=True)
    text = _graph("top", "--repo", indexed, "--kind", "module", "--limit", "2").stdout.splitlines()
    assert text[0] == "  #  pagerank   in  out  kind       symbol" and len(text) == 3
    first = text[1].split()
    assert first[0] == "1" and first[4] == "module" and first[5].endswith(".py") and len(first) == 6

    assert _graph("cycles", "--repo", indexed).stdout == (
        "2 import cycle(s):\n"
        "  graphcli: plugins/alpha.py, plugins/beta.py, plugins/gamma.py  (3 modules)\n"
        "  graphcli: app/billing.py, app/orders.py  (2 modules)\n"
    )
    assert json.loads(_graph("cycles", "--repo", indexed, "--json").stdout)[1] == {
        "repository": "graphcli",
        "modules": ["app/billing.py", "app/orders.py"],
    }

    assert _graph("path", "main", "audit", "--repo", indexed).stdout == (
        "app/main.py::main  (app/main.py:5-9)\n"
        "  -calls-> app/orders.py::submit  (app/orders.py:10-13)\n"
        "  -calls-> app/billing.py::charge  (app/billing.py:9-12)\n"
        "  -calls-> app/billing.py::audit  (app/billing.py:4-6)\n"
        "(3 step(s))\n"
    )
    imports = json.loads(_graph("path", "app/main.py", "app/billing.py", "--repo", indexed, "--json").stdout)
    assert imports["found"] is True
    assert [(s["qualified_name"], s["via"]) for s in imports["steps"]] == [
        ("app/main.py", None),
        ("app/orders.py", "imports"),
        ("app/billing.py", "imports"),
    ]
    none = _graph("path", "audit", "main", "--repo", indexed)
    assert (none.exit_code, none.stdout) == (
        0,
        "No calls/imports path from app/billing.py::audit to app/main.py::main.\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["callers", "run"],
            "mnemo: 'run' is ambiguous: 2 symbols match; give a qualified name or a repository:\n"
            "  app/jobs.py::Worker.run (method, graphcli)\n"
            "  app/jobs.py::run (function, graphcli)\n",
        ),
        (["callees", "no_such_thing"], "mnemo: no symbol named 'no_such_thing' in 'graphcli'\n"),
        (
            ["callers", "submi"],
            "mnemo: no symbol named 'submi' in 'graphcli'; did you mean: app/orders.py::submit\n",
        ),
        (
            ["callers", "x' OR '1'='1"],
            "mnemo: no symbol named \"x' OR '1'='1\" in 'graphcli'\n",
        ),
        (["callers", "%"], "mnemo: no symbol named '%' in 'graphcli'\n"),
        (["path", "", "main"], "mnemo: an empty symbol name matches nothing; give one\n"),
        (
            ["path", "main", "audit", "--via", "calls,jumps"],
            "mnemo: unknown edge kind(s) 'jumps'; choose from calls, imports, inherits, contains\n",
        ),
        (["top", "--kind", "klass"], "mnemo: no symbols of kind 'klass'; kinds: "),
    ],
)
def test_bad_input_is_one_clear_message_and_exit_2(indexed: str, args: list[str], message: str) -> None:
    result = _graph(*args, "--repo", indexed)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr


def test_an_unknown_repository_through_the_entry_point(
    indexed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", "cycles", "--repo", "no-such-repo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mnemo: no repository named 'no-such-repo'; known: ") and f"{indexed}" in err
    assert main(["graph", "top", "--limit", "0"]) == 2
