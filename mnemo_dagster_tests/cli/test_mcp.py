"""`mnemo mcp` end to end: the MCP SDK's own stdio client starts the server as a subprocess and calls
its tools against an index of ``fixtures/graph_repo`` built here."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from mnemo_dagster_tests.cli.graph_repo import index_graph_repo

REPO = "graphmcp"
TOOLS = {
    "search",
    "callers",
    "callees",
    "top",
    "cycles",
    "path",
    "status",
    "index_status",
    "symbol",
    "references",
    "related",
    "impact",
    "repo_map",
}

T = TypeVar("T")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, mnemo_home: Path) -> str:
    """The fixture repository, indexed in-process into the session's index as ``graphmcp``."""
    return index_graph_repo(tmp_path_factory, REPO)


def _with_server(errlog: Path, talk: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Start `mnemo mcp` (this interpreter, this environment), initialise a session, run ``talk``."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "mnemo_dagster.cli", "mcp"], env=dict(os.environ)
    )

    async def run() -> T:
        with errlog.open("w") as log:
            async with (
                stdio_client(server, errlog=log) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                return await talk(session)

    return anyio.run(run)


async def _call(session: ClientSession, tool: str, **arguments: Any) -> tuple[bool, Any]:
    """(is_error, the structured result, or the error text) of one tool call."""
    result = await session.call_tool(tool, arguments)
    if result.is_error:
        return True, result.content[0].text
    assert json.loads(result.content[0].text) == result.structured_content  # the text echoes the data
    return False, result.structured_content


@pytest.mark.slow
def test_the_tools_answer_from_the_index(indexed: str, tmp_path: Path) -> None:
    async def talk(session: ClientSession) -> dict[str, Any]:
        listed = await session.list_tools()
        answers: dict[str, Any] = {"tools": {tool.name: tool for tool in listed.tools}}
        for name, arguments in {
            "search": {"query": "charge an order after checking it", "repository": indexed, "limit": 3},
            "search:filtered": {
                "query": "order",
                "repository": indexed,
                "kind": "function",
                "path": "app/b*",
            },
            "callers": {"name": "validate", "repository": indexed},
            "callees": {"name": "app/orders.py::submit", "repository": indexed},
            "callers:external": {"name": "<builtin>::ValueError", "repository": indexed},
            "callees:external": {"name": "validate", "repository": indexed, "external": True},
            "callees:own": {"name": "validate", "repository": indexed},
            "top": {"repository": indexed, "kind": "module", "limit": 2},
            "cycles": {"repository": indexed},
            "path": {"source": "main", "target": "audit", "repository": indexed},
            "status": {},
            "index_status": {"repository": indexed},
            "symbol": {"name": "app/orders.py::submit", "repository": indexed},
            "references": {"name": "validate", "repository": indexed},
            "related": {"file": "app/billing.py", "line": 11, "repository": indexed, "limit": 2},
            "repo_map": {"repository": indexed, "focus": ["app/billing.py"], "token_budget": 64},
            "impact": {"repository": indexed, "symbols": ["validate"], "depth": 2},
        }.items():
            answers[name] = await _call(session, name.partition(":")[0], **arguments)
        return answers

    answers = _with_server(tmp_path / "server.log", talk)
    assert set(answers["tools"]) == TOOLS
    assert set(answers["tools"]["search"].input_schema["properties"]) == {
        "query",
        "repository",
        "limit",
        "language",
        "kind",
        "path",
    }
    assert answers["tools"]["path"].input_schema["required"] == ["source", "target"]

    error, search = answers["search"]
    assert not error and search["hits"][0]["qualified_name"] == "app/billing.py::charge"
    assert {hit["repository"] for hit in search["hits"]} == {indexed} and len(search["hits"]) == 3
    assert set(search["hits"][0]) >= {"file_path", "start_line", "end_line", "kind", "score"}
    filtered = answers["search:filtered"][1]["hits"]
    assert {(h["file_path"], h["kind"]) for h in filtered} == {("app/billing.py", "function")}
    assert [c["qualified_name"] for c in answers["callers"][1]["callers"]] == [
        "app/billing.py::charge",
        "app/orders.py::submit",
    ]
    assert [c["qualified_name"] for c in answers["callees"][1]["callees"]] == [
        "app/billing.py::charge",
        "app/orders.py::validate",
    ]
    # What the code calls outside the repository: asked for by name, or with external=True.
    assert [c["qualified_name"] for c in answers["callers:external"][1]["callers"]] == [
        "app/orders.py::validate"
    ]
    assert [
        (c["qualified_name"], c["kind"], c["file_path"]) for c in answers["callees:external"][1]["callees"]
    ] == [("<builtin>::ValueError", "builtin", "")]
    assert answers["callees:own"][1]["callees"] == []
    assert [s["kind"] for s in answers["top"][1]["symbols"]] == ["module", "module"]
    assert answers["cycles"][1]["cycles"] == [
        {"repository": indexed, "modules": ["plugins/alpha.py", "plugins/beta.py", "plugins/gamma.py"]},
        {"repository": indexed, "modules": ["app/billing.py", "app/orders.py"]},
    ]
    steps = answers["path"][1]["steps"]
    assert [(s["qualified_name"], s["via"]) for s in steps] == [
        ("app/main.py::main", None),
        ("app/orders.py::submit", "calls"),
        ("app/billing.py::charge", "calls"),
        ("app/billing.py::audit", "calls"),
    ]
    mine = next(r for r in answers["status"][1]["repositories"] if r["repository"] == indexed)
    assert mine["files"]["indexed"] == 8 and mine["nodes"] > 0

    # The agent context tools, and their schemas: bounds and enums are the schema's, not run-time checks.
    limit = answers["tools"]["search"].input_schema["properties"]["limit"]
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    kinds = answers["tools"]["top"].input_schema["properties"]["kind"]["anyOf"][0]["enum"]
    assert "module" in kinds and "method" in kinds
    assert "  " not in answers["tools"]["symbol"].description  # no docstring indentation
    (state,) = answers["index_status"][1]["repositories"]
    assert (state["state"], state["files"]["indexed"]) == ("current", 8)
    submit = answers["symbol"][1]
    assert (submit["signature"], submit["docstring"]) == (
        "def submit(order):",
        "Validate an order and charge it.",
    )
    callers = answers["references"][1]["callers"]
    assert [(c["qualified_name"], c["line"]) for c in callers] == [
        ("app/billing.py::charge", 11),
        ("app/orders.py::submit", 12),
    ]
    related = answers["related"][1]
    assert related["at"]["qualified_name"] == "app/billing.py::charge" and len(related["related"]) == 2
    repo_map = answers["repo_map"][1]
    assert repo_map["text"].startswith("app/billing.py:") and repo_map["tokens"] <= 64 * 1.15
    impact = answers["impact"][1]
    assert [c["qualified_name"] for c in impact["changed"]] == ["app/orders.py::validate"]
    assert {c["qualified_name"] for c in impact["callers"]} >= {
        "app/billing.py::charge",
        "app/orders.py::submit",
    }


@pytest.mark.slow
def test_bad_calls_are_tool_errors_and_the_server_goes_on(indexed: str, tmp_path: Path) -> None:
    bad_calls: list[tuple[str, dict[str, Any], str]] = [
        ("search", {"query": "   "}, "the query is empty"),
        ("search", {"query": "charge", "repository": "no-such-repo"}, "no repository named 'no-such-repo'"),
        ("callers", {"name": "run", "repository": indexed}, "'run' is ambiguous: 2 symbols match"),
        ("callees", {"name": "nope", "repository": indexed}, f"no symbol named 'nope' in '{indexed}'"),
        (
            "path",
            {"source": "main", "target": "'; DROP TABLE graph_nodes; --", "repository": indexed},
            "no symbol named",
        ),
        ("top", {"limit": 0}, "limit must be between 1 and 100, not 0"),
        ("search", {"query": "charge", "limit": 500}, "search: limit must be between 1 and 100, not 500"),
        ("callers", {}, "callers: `name` is required"),
        ("top", {"kind": "widget"}, "top: kind must be one of"),
        ("impact", {"repository": indexed}, "give exactly one of a diff, a commit range or symbol names"),
        ("cycles", {"repository": "../etc"}, "no repository named '../etc'"),
    ]

    async def talk(
        session: ClientSession,
    ) -> tuple[list[tuple[bool, Any]], tuple[bool, Any], tuple[bool, Any]]:
        errors = [await _call(session, tool, **arguments) for tool, arguments, _ in bad_calls]
        long_query = await _call(
            session, "search", query="charge an order " * 1000, repository=indexed, limit=1
        )
        after = await _call(session, "callers", name="app/billing.py::audit", repository=indexed)
        return errors, long_query, after

    errors, long_query, after = _with_server(tmp_path / "server.log", talk)
    for (tool, _, expected), (is_error, text) in zip(bad_calls, errors, strict=True):
        assert is_error, tool
        assert expected in text, (tool, text)
    assert not long_query[0] and len(long_query[1]["hits"]) == 1  # 16,000 characters: answered
    assert after[0] is False and [c["qualified_name"] for c in after[1]["callers"]] == [
        "app/billing.py::charge"
    ]
    assert "Traceback" not in (tmp_path / "server.log").read_text()
