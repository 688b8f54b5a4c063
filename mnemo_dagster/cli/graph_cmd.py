"""``mnemo graph``: questions about the symbol graph (callers, callees, top, cycles, path).

Each command resolves its names with :mod:`mnemo_dagster.store.graph_queries` and prints text or, with
``--json``, the records' ``as_dict()`` forms. A name that matches nothing or several symbols, an
unknown repository or edge kind is a :class:`~mnemo_dagster.errors.GraphQueryError`:
one line (or the list of candidates) on stderr and exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mnemo_dagster.graph.answers import GraphPath, GraphSymbol, ImportCycle, Neighbours, RankedSymbol

if TYPE_CHECKING:
    from mnemo_dagster.store.database import IndexStore

T = TypeVar("T")

REPO_OPTION = click.option("--repo", help="Only this repository.")
JSON_OPTION = click.option("--json", "json_output", is_flag=True, help="Print JSON.")


def _via_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--via",
        default=default,
        show_default=True,
        help="Comma-separated edge kinds to follow: calls, imports, inherits, contains.",
    )


def _ask(question: Callable[[IndexStore], T]) -> T:
    """Run ``question`` against the configured index."""
    from mnemo_dagster.wiring import wire

    with wire() as wiring:
        return question(wiring.store)


def _place(symbol: GraphSymbol) -> str:
    if not symbol.file_path:  # an external or builtin name
        return "outside the repository"
    return f"{symbol.file_path}:{symbol.start_line}-{symbol.end_line}"


def neighbours_text(answer: Neighbours) -> str:
    subject = answer.subject
    head = f"{subject.qualified_name} ({subject.kind}, {_place(subject)}, {subject.repository})"
    if not answer.links:
        return f"{head}: no {answer.direction}"
    verb = "called by" if answer.direction == "callers" else "calls"
    width = max(len(link.symbol.qualified_name) for link in answer.links)
    lines = [f"{head} {verb} {len(answer.links)}:"]
    for link in answer.links:
        edge = "" if link.kind == "calls" else f"  ({link.kind})"
        weight = f"  x{link.weight}" if link.weight > 1 else ""
        lines.append(f"  {link.symbol.qualified_name:<{width}}  {_place(link.symbol)}{edge}{weight}")
    return "\n".join(lines)


def top_text(ranked: list[RankedSymbol], *, all_repositories: bool) -> str:
    if not ranked:
        return "No ranked symbols (build the graph with `mnemo index PATH`)."
    lines = ["  #  pagerank   in  out  kind       symbol"]
    for i, row in enumerate(ranked, 1):
        where = f"  [{row.symbol.repository}]" if all_repositories else ""
        lines.append(
            f"{i:>3}  {row.pagerank:.5f}  {row.in_degree:>3}  {row.out_degree:>3}  "
            f"{row.symbol.kind:<9}  {row.symbol.qualified_name}{where}"
        )
    return "\n".join(lines)


def cycles_text(found: list[ImportCycle]) -> str:
    if not found:
        return "No import cycles."
    lines = [f"{len(found)} import cycle(s):"]
    lines += [f"  {c.repository}: {', '.join(c.modules)}  ({len(c.modules)} modules)" for c in found]
    return "\n".join(lines)


def path_text(answer: GraphPath) -> str:
    if not answer.found:
        return (
            f"No {'/'.join(answer.kinds)} path from {answer.source.qualified_name} "
            f"to {answer.target.qualified_name}."
        )
    lines = [f"{answer.steps[0].symbol.qualified_name}  ({_place(answer.steps[0].symbol)})"]
    lines += [
        f"  -{step.via}-> {step.symbol.qualified_name}  ({_place(step.symbol)})" for step in answer.steps[1:]
    ]
    lines.append(f"({len(answer.steps) - 1} step(s))")
    return "\n".join(lines)


def _emit(json_output: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if json_output else text)


@click.group()
def graph() -> None:
    """Questions about the symbol graph. NAME is a qualified name (path::Class.method, or a module's
    path) or a unique tail of one (Class.method, method)."""


EXTERNAL_OPTION = click.option(
    "--external",
    is_flag=True,
    help="Also what NAME calls in other packages and builtins (<external>::json.loads, <builtin>::len).",
)


def _neighbours_command(direction: str, help_text: str, *options: Callable[[Any], Any]) -> click.Command:
    """``mnemo graph callers`` or ``callees``: the neighbours of NAME, the question of that name."""

    def command(name: str, repo: str | None, via: str, json_output: bool, external: bool = False) -> None:
        from mnemo_dagster.store import graph_queries

        question = getattr(graph_queries, direction)
        extra = {"outside": True} if external else {}
        answer = _ask(lambda store: question(store, name, repo, via.split(","), **extra))
        _emit(json_output, answer.as_dict(), neighbours_text(answer))

    for option in (
        *reversed(options),
        JSON_OPTION,
        _via_option("calls"),
        REPO_OPTION,
        click.argument("name"),
    ):
        command = option(command)
    return graph.command(direction, help=help_text)(command)


callers = _neighbours_command(
    "callers",
    "The symbols that call NAME. NAME may also be what the code calls in another package or a builtin: "
    "'<external>::subprocess.run', '<builtin>::eval' (Python).",
)
callees = _neighbours_command("callees", "The symbols NAME calls.", EXTERNAL_OPTION)


@graph.command()
@REPO_OPTION
@click.option("--kind", help="Only symbols of this kind (class, function, method, module, ...).")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
@JSON_OPTION
def top(repo: str | None, kind: str | None, limit: int, json_output: bool) -> None:
    """The most central symbols, by PageRank (modules only with --kind module)."""
    from mnemo_dagster.store import graph_queries

    ranked = _ask(lambda store: graph_queries.top(store, repo, kind, limit))
    _emit(json_output, [r.as_dict() for r in ranked], top_text(ranked, all_repositories=repo is None))


@graph.command()
@REPO_OPTION
@JSON_OPTION
def cycles(repo: str | None, json_output: bool) -> None:
    """Import cycles: modules that import each other, directly or through others."""
    from mnemo_dagster.store import graph_queries

    found = _ask(lambda store: graph_queries.cycles(store, repo))
    _emit(json_output, [c.as_dict() for c in found], cycles_text(found))


@graph.command()
@click.argument("source")
@click.argument("target")
@REPO_OPTION
@_via_option("calls,imports")
@JSON_OPTION
def path(source: str, target: str, repo: str | None, via: str, json_output: bool) -> None:
    """The shortest path from SOURCE to TARGET along calls and imports (exit 0 even when none)."""
    from mnemo_dagster.store import graph_queries

    answer = _ask(lambda store: graph_queries.path(store, source, target, repo, via.split(",")))
    _emit(json_output, answer.as_dict(), path_text(answer))
