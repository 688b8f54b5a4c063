"""``mnemo mcp``: an MCP server over stdio (the official ``mcp`` SDK) for coding agents.

Tools: ``search``; the graph questions ``callers``, ``callees``, ``top``, ``cycles``, ``path``; the agent
context ``index_status``, ``repo_map``, ``symbol``, ``references``, ``impact``, ``related``; and
``status``. Each returns a JSON object (structured content, echoed as text), sized for a context
window. Arguments are checked by their JSON schema (bounds, enums) before anything runs; a bad one, or
a question the index cannot answer (an unknown or ambiguous name, an unknown repository), is a tool
error in one plain sentence, and the server goes on serving.

Only ``search`` needs the embedding model. It loads in the background, after the first call or a few
seconds after the start, so the graph and status tools answer at once and a search rarely waits.
stdout carries the protocol, so nothing else may print there.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

import click
from pydantic import Field

from mnemo_dagster.errors import GraphQueryError, MnemoError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from mnemo_dagster.retrieval.index import Index
    from mnemo_dagster.store.database import IndexStore

MAX_LIMIT = 100
"""The most results one call returns."""
MAX_MAP_TOKENS = 16_000
"""The largest repo map a call asks for."""
MAX_DIFF_CHARS = 2_000_000
"""The longest diff ``impact`` reads."""
WARM_AFTER_SECONDS = 3.0
"""The model starts loading this long after the server starts, or after the first call if sooner."""

INSTRUCTIONS = """\
mnemo indexes source repositories: code chunks with embeddings and a symbol graph. Start with \
`index_status` (is the index current?) and `repo_map` (the most important files and symbols, in a \
token budget). Find code with `search` (by meaning or by identifier), read it with `symbol`, follow it \
with `references`, `callers` / `callees` and `path`, and before an edit ask `impact` (changed symbols, \
their callers, the tests that reach them). `related` finds code like a given place; `top` ranks \
symbols by PageRank, `cycles` lists import cycles. A symbol name is a qualified name \
(`path/to/file.py::Class.method`, or a module's path) or a unique tail of one (`Class.method`, \
`method`)."""

Repository = Annotated[str | None, Field(description="an indexed repository's name; all of them if omitted")]
Name = Annotated[str, Field(min_length=1, max_length=1000, description="a qualified name or a unique tail")]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"at most this many results (1-{MAX_LIMIT})")]


def _enums() -> tuple[Any, Any, Any]:
    """The languages, chunk kinds and node kinds, as ``Literal`` types for the schemas."""
    from typing import get_args

    from mnemo_dagster.extract.languages import LANGUAGES
    from mnemo_dagster.models import ChunkKind, SymbolKind

    languages = Literal[tuple(sorted({spec.name for spec in LANGUAGES}))]  # type: ignore[valid-type]
    node_kinds = Literal[(*get_args(SymbolKind), "module")]  # type: ignore[valid-type]
    return languages, ChunkKind, node_kinds


class _Backend:
    """The store and the search client the tools share: one engine, one model, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: IndexStore | None = None
        self._index: Index | None = None
        self.called = threading.Event()

    def store(self) -> "IndexStore":
        with self._lock:
            if self._store is None:
                from mnemo_dagster.wiring import wire

                self._store = wire().store
            return self._store

    def index(self) -> "Index":
        store = self.store()
        with self._lock:
            if self._index is None:
                from mnemo_dagster.retrieval.index import Index

                self._index = Index(store=store)
            return self._index

    def warm(self) -> None:
        """In the background: connect now (the graph tools need only that), then load the model after
        the first call or :data:`WARM_AFTER_SECONDS`, whichever comes first."""
        try:
            self.store().files.repository_names()
            self.called.wait(WARM_AFTER_SECONDS)
            self.index().warm()
        except Exception as exc:  # the search that needs it will report the problem
            logging.getLogger(__name__).warning("the model did not load in the background: %s", exc)


@contextmanager
def _answers(backend: _Backend) -> Iterator[None]:
    """Turn mnemo's own errors into MCP tool errors that carry their message."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except MnemoError as exc:
        raise ToolError(str(exc)) from exc
    finally:
        backend.called.set()


def _tools(backend: _Backend) -> list[Callable[..., dict[str, Any]]]:
    """The tool functions: their signatures are the schemas, their docstrings the descriptions."""
    from mnemo_dagster.context.freshness import index_status as status_of
    from mnemo_dagster.context.symbols import describe_symbol, find_references
    from mnemo_dagster.context.symbols import related as related_to
    from mnemo_dagster.store import graph_queries as gq
    from mnemo_dagster.store.reports import status_report

    Language, ChunkKindName, NodeKind = _enums()
    store = backend.store

    def search(
        query: Annotated[str, Field(min_length=1, description="what the code does, or an identifier")],
        repository: Repository = None,
        limit: Limit = 10,
        language: Annotated[Language | None, Field(description="only files of this language")] = None,
        kind: Annotated[ChunkKindName | None, Field(description="only chunks of this kind")] = None,
        path: Annotated[str | None, Field(description="a glob over file paths: src/**, *.py")] = None,
    ) -> dict[str, Any]:
        """Code search by meaning or by identifier: the places that best match `query`, best first, with
        their qualified name, file, lines, kind, signature and score (no code: read it with `symbol`).
        About 60 tokens a hit."""
        with _answers(backend):
            if not query.strip():
                raise GraphQueryError("the query is empty; ask for what the code does or name an identifier")
            index = backend.index()
            hits = index.search(
                query, repository, limit, language=language, kind=kind, path=path, check_repository=True
            )
            return {"hits": [{k: v for k, v in hit.as_dict().items() if k != "content"} for hit in hits]}

    def callers(name: Name, repository: Repository = None) -> dict[str, Any]:
        """The symbols that call the symbol `name`, which may be what the code calls in another package
        or a builtin (Python): `<external>::subprocess.run`, `<builtin>::eval`."""
        with _answers(backend):
            return gq.callers(store(), name, repository).as_dict()

    def callees(
        name: Name,
        repository: Repository = None,
        external: Annotated[
            bool,
            Field(description="also calls into other packages and builtins (<external>::json.loads)"),
        ] = False,
    ) -> dict[str, Any]:
        """The symbols that the symbol `name` calls."""
        with _answers(backend):
            return gq.callees(store(), name, repository, outside=external).as_dict()

    def top(
        repository: Repository = None,
        kind: Annotated[NodeKind | None, Field(description="only this kind; else all but modules")] = None,
        limit: Limit = 10,
    ) -> dict[str, Any]:
        """The most central symbols by PageRank. About 50 tokens a symbol."""
        with _answers(backend):
            return {"symbols": [r.as_dict() for r in gq.top(store(), repository, kind, limit)]}

    def cycles(repository: Repository = None) -> dict[str, Any]:
        """Import cycles: sets of modules that import each other, directly or through others."""
        with _answers(backend):
            return {"cycles": [c.as_dict() for c in gq.cycles(store(), repository)]}

    def path(source: Name, target: Name, repository: Repository = None) -> dict[str, Any]:
        """The shortest call/import path from the symbol `source` to the symbol `target`."""
        with _answers(backend):
            return gq.path(store(), source, target, repository).as_dict()

    def status() -> dict[str, Any]:
        """The indexed repositories: files by status, chunks, graph size, failures with reasons."""
        with _answers(backend):
            db = store()
            return {"repositories": [status_report(db, name) for name in db.files.repository_names()]}

    def index_status(
        repository: Repository = None,
        check_disk: Annotated[bool, Field(description="also scan the tree for changes (reads stat)")] = True,
    ) -> dict[str, Any]:
        """Whether the index is current: per repository its `state` (current, stale, indexing), files
        indexed, pending and failed, the last scan and graph build, whether a pass runs now, and the
        files changed on disk since (at most 20 listed). About 150 tokens a repository."""
        with _answers(backend):
            return status_of(store(), repository, check_disk=check_disk)

    def symbol(
        name: Name,
        repository: Repository = None,
        body_tokens: Annotated[int, Field(ge=0, le=8000, description="cut the body to this many tokens")] = (
            800
        ),
    ) -> dict[str, Any]:
        """The definition of `name`: file and lines, signature, docstring, body (cut to `body_tokens`),
        the symbol that contains it and the ones it contains."""
        with _answers(backend):
            return describe_symbol(store(), name, repository, body_tokens)

    def references(name: Name, repository: Repository = None, limit: Limit = 50) -> dict[str, Any]:
        """Who refers to `name`: its callers, importers and subclasses, each with the line that refers to
        it (at most `limit` of each, with the totals). About 40 tokens a reference."""
        with _answers(backend):
            return find_references(store(), name, repository, limit)

    def related(
        file: Annotated[str, Field(min_length=1, description="a path relative to the repository root")],
        line: Annotated[int, Field(ge=1, description="a line of that file")],
        repository: Annotated[str, Field(min_length=1, description="the repository of the file")],
        limit: Annotated[int, Field(ge=1, le=50, description="at most this many chunks")] = 10,
    ) -> dict[str, Any]:
        """Code like the code at `file`:`line`: the chunks nearest to it by embedding (no model needed).
        About 50 tokens a chunk."""
        with _answers(backend):
            return related_to(store(), repository, file, line, limit)

    return [
        search,
        callers,
        callees,
        top,
        cycles,
        path,
        status,
        index_status,
        symbol,
        references,
        related,
        *_context_tools(backend),
    ]


def _context_tools(backend: _Backend) -> list[Callable[..., dict[str, Any]]]:
    """``repo_map`` and ``impact``."""
    from pathlib import Path

    from mnemo_dagster.context.impact import MAX_DEPTH, repository_at
    from mnemo_dagster.context.impact import impact as impact_of
    from mnemo_dagster.context.impact_text import impact_text
    from mnemo_dagster.context.repo_map import DEFAULT_BUDGET, MIN_BUDGET
    from mnemo_dagster.context.repo_map import repo_map as map_of

    store = backend.store

    def impact(
        repository: Repository = None,
        diff: Annotated[
            str | None, Field(max_length=2_000_000, description="a unified diff (git diff)")
        ] = None,
        commits: Annotated[str | None, Field(max_length=200, description="A..B, A...B or one commit")] = None,
        symbols: Annotated[list[Name] | None, Field(max_length=50, description="qualified names")] = None,
        depth: Annotated[int, Field(ge=1, le=MAX_DEPTH, description="how far to follow callers")] = 3,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """Before an edit or in a review: what a change touches. Give exactly one of `diff`, `commits`
        or `symbols`. Answers the changed symbols, their callers up to `depth` (each with its distance
        and the call path), and the tests that reach them, ranked; `text` is a compact rendering.
        About 30 tokens a symbol."""
        with _answers(backend):
            db = store()
            name = repository or repository_at(db, Path.cwd())
            answer = impact_of(
                db, name, diff=diff, commits=commits, symbols=symbols or (), depth=depth, limit=limit
            )
            return {**answer.as_dict(), "text": impact_text(answer)}

    def repo_map(
        repository: Repository = None,
        focus: Annotated[
            list[Name] | None, Field(max_length=50, description="paths or symbols to center the map on")
        ] = None,
        token_budget: Annotated[
            int, Field(ge=MIN_BUDGET, le=MAX_MAP_TOKENS, description="the map's size in tokens (+-15%)")
        ] = DEFAULT_BUDGET,
    ) -> dict[str, Any]:
        """The repository at a glance: its most important files and, under each, its most important
        symbols' signatures, ranked by PageRank (personalised to `focus` when given), fitted to
        `token_budget` (within 15%). Ask it first to plan; `text` is the map itself."""
        with _answers(backend):
            return map_of(store(), repository, focus or (), token_budget).as_dict()

    return [impact, repo_map]


def _argument_errors(tool: Any, exc: Any) -> str:
    """One plain sentence per bad argument of a call that failed its schema (no pydantic URL)."""
    properties = tool.parameters.get("properties", {}) if tool is not None else {}
    sentences = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "arguments"
        spec = properties.get(field, {})
        kind = error["type"]
        if kind == "missing":
            sentences.append(f"`{field}` is required")
        elif kind in ("greater_than_equal", "less_than_equal") and "minimum" in spec and "maximum" in spec:
            low, high = spec["minimum"], spec["maximum"]
            sentences.append(f"{field} must be between {low} and {high}, not {error['input']}")
        elif kind == "literal_error":
            sentences.append(f"{field} must be one of {error['ctx']['expected']}, not {error['input']!r}")
        else:
            sentences.append(f"{field}: {error['msg'].lower()}")
    return "; ".join(sentences)


def build_server() -> "MCPServer":
    """The MCP server with mnemo's tools, answering from the index the environment configures."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import ValidationError

    from mnemo_dagster import __name__ as package

    class Server(MCPServer):
        async def call_tool(self, name: str, arguments: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await super().call_tool(name, arguments, *args, **kwargs)
            except ToolError as exc:
                if not isinstance(exc.__cause__, ValidationError):
                    raise
                tool = self._tool_manager.get_tool(name)
                raise ToolError(f"{name}: {_argument_errors(tool, exc.__cause__)}") from None

    backend = _Backend()
    server = Server(name="mnemo", instructions=INSTRUCTIONS, version=_version(package))
    server.backend = backend  # type: ignore[attr-defined]
    for tool in _tools(backend):
        server.add_tool(tool, description=" ".join((tool.__doc__ or "").split()))
    return server


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package.replace("_", "-"))
    except PackageNotFoundError:
        return "0"


@click.command()
def mcp() -> None:
    """Serve search, the graph questions and agent context to an MCP client over stdio."""
    # The protocol owns stdout; the SDK's and Dagster's log lines go to stderr, and only warnings.
    logging.basicConfig(level=logging.WARNING)
    server = build_server()
    warm = server.backend.warm  # type: ignore[attr-defined]
    threading.Thread(target=warm, name="mnemo-model-warm-up", daemon=True).start()
    server.run("stdio")
