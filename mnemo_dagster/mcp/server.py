"""``mnemo mcp``: an MCP server over stdio (the official ``mcp`` SDK) for coding agents.

Tools: ``search`` (semantic code search), the graph questions ``callers``, ``callees``, ``top``,
``cycles`` and ``path``, and ``status``. Each returns a JSON object (structured content, echoed as
text). A question the index cannot answer (an empty query, an unknown or ambiguous name, an unknown
repository) is an MCP tool error whose text says what to do; the server goes on serving.

Every tool answers through the process's shared search client (``mnemo_dagster.shared_index()``):
one engine, and the model loaded once, on the first search, so the handshake is quick. stdout
carries the protocol, so nothing else may print there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from mnemo_dagster.errors import MnemoError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mnemo_dagster.store.database import IndexStore

MAX_LIMIT = 100
"""The most results one call returns."""

INSTRUCTIONS = """\
mnemo indexes source repositories: code chunks with embeddings and a symbol graph.
Use `search` to find code by meaning or by identifier, then the graph tools to follow it:
`callers` / `callees` of a symbol, `path` between two symbols, `top` (most central symbols by
PageRank) and `cycles` (import cycles). A symbol name is a qualified name
(`path/to/file.py::Class.method`, or a module's path) or a unique tail of one (`Class.method`,
`method`). `status` lists the repositories."""


def _store() -> IndexStore:
    """The store of the process's shared search client (one engine for every tool)."""
    from mnemo_dagster import shared_index

    return shared_index().store


@contextmanager
def _answers() -> Iterator[None]:
    """Turn mnemo's own errors into MCP tool errors that carry their message."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except MnemoError as exc:
        raise ToolError(str(exc)) from exc


def _check_limit(limit: int) -> None:
    from mnemo_dagster.errors import GraphQueryError

    if not 1 <= limit <= MAX_LIMIT:
        raise GraphQueryError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")


def _search(query: str, repository: str | None, limit: int, **filters: str | None) -> dict[str, Any]:
    from mnemo_dagster import shared_index
    from mnemo_dagster.errors import GraphQueryError

    if not query.strip():
        raise GraphQueryError("the query is empty; ask for what the code does or name an identifier")
    _check_limit(limit)
    hits = shared_index().search(query, repository, limit, **filters, check_repository=True)
    return {"hits": [{k: v for k, v in hit.as_dict().items() if k != "content"} for hit in hits]}


def _status() -> dict[str, Any]:
    from mnemo_dagster.store.reports import status_report

    store = _store()
    return {"repositories": [status_report(store, name) for name in store.files.repository_names()]}


def _tools() -> list[Callable[..., dict[str, Any]]]:
    """The tool functions, their signatures and docstrings being what the client sees."""
    from mnemo_dagster.store import graph_queries as gq

    def search(
        query: str,
        repository: str | None = None,
        limit: int = 10,
        language: str | None = None,
        kind: str | None = None,
        path: str | None = None,
    ) -> dict[str, Any]:
        """Code search by meaning or by identifier: the places that best match `query`, best first, with
        their qualified name, file, lines, kind, signature and score. Optional filters: `repository`,
        `language` (python, typescript, ...), `kind` (function, method, class, ...) and `path`, a glob
        over file paths (`src/**`, `*.py`)."""
        with _answers():
            return _search(query, repository, limit, language=language, kind=kind, path=path)

    def callers(name: str, repository: str | None = None) -> dict[str, Any]:
        """The symbols that call the symbol `name`."""
        with _answers():
            return gq.callers(_store(), name, repository).as_dict()

    def callees(name: str, repository: str | None = None) -> dict[str, Any]:
        """The symbols that the symbol `name` calls."""
        with _answers():
            return gq.callees(_store(), name, repository).as_dict()

    def top(repository: str | None = None, kind: str | None = None, limit: int = 10) -> dict[str, Any]:
        """The most central symbols by PageRank; `kind` picks one kind (class, function, method,
        module, ...); without it every kind but modules."""
        with _answers():
            _check_limit(limit)
            return {"symbols": [r.as_dict() for r in gq.top(_store(), repository, kind, limit)]}

    def cycles(repository: str | None = None) -> dict[str, Any]:
        """Import cycles: sets of modules that import each other, directly or through others."""
        with _answers():
            return {"cycles": [c.as_dict() for c in gq.cycles(_store(), repository)]}

    def path(source: str, target: str, repository: str | None = None) -> dict[str, Any]:
        """The shortest call/import path from the symbol `source` to the symbol `target`."""
        with _answers():
            return gq.path(_store(), source, target, repository).as_dict()

    def status() -> dict[str, Any]:
        """The indexed repositories: files by status, chunks, graph size, failures with reasons."""
        with _answers():
            return _status()

    return [search, callers, callees, top, cycles, path, status]


def build_server() -> MCPServer:
    """The MCP server with mnemo's tools, answering from the index the environment configures."""
    from mcp.server.mcpserver import MCPServer

    from mnemo_dagster import __name__ as package

    server: MCPServer = MCPServer(name="mnemo", instructions=INSTRUCTIONS, version=_version(package))
    for tool in _tools():
        server.add_tool(tool)
    return server


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package.replace("_", "-"))
    except PackageNotFoundError:
        return "0"


@click.command()
def mcp() -> None:
    """Serve search and the graph questions to an MCP client over stdio."""
    # The protocol owns stdout; the SDK's and Dagster's log lines go to stderr, and only warnings.
    logging.basicConfig(level=logging.WARNING)
    build_server().run("stdio")
