"""``mnemo search``: hybrid code search from the shell, answered by the resident search service.

The command imports nothing heavy: it asks the service of this index
(:mod:`mnemo_dagster.retrieval.service`, started on first use) and searches in its own process
only when no service can answer.
"""

from __future__ import annotations

import json
from typing import Any

import click

from mnemo_dagster.errors import MnemoError
from mnemo_dagster.retrieval.query import MAX_QUERY_CHARS

JSON_FIELDS = (
    "repository",
    "qualified_name",
    "file_path",
    "start_line",
    "end_line",
    "kind",
    "language",
    "score",
    "name",
    "signature",
    "match",
    "similarity",
    "lexical",
    "stale",
)
"""What ``--json`` prints per hit (``content`` too with ``--show-code``)."""


def _search(request: dict[str, Any]) -> list[dict[str, Any]]:
    from mnemo_dagster.config.settings import Settings
    from mnemo_dagster.retrieval.service import raise_error, search_via_service

    settings = Settings.from_env()
    answer = search_via_service(settings, request)
    if answer is None:  # no service: search here (loads the model in this process)
        from mnemo_dagster.retrieval.index import Index
        from mnemo_dagster.retrieval.service import answer as search_here

        with Index(settings) as index:
            answer = search_here(index, request)
    if "error" in answer:
        raise_error(answer)
    return list(answer["hits"])


@click.command()
@click.argument("query")
@click.option("--repo", help="Only this repository.")
@click.option("--limit", type=click.IntRange(min=1, max=1000), default=10, show_default=True)
@click.option("--language", help="Only chunks of this language (python, typescript, go, ...).")
@click.option("--kind", help="Only chunks of this kind (function, method, class, module, ...).")
@click.option(
    "--path", "path_glob", metavar="GLOB", help="Only files matching GLOB (src/**, *.py, shop/*.py)."
)
@click.option("--json", "json_output", is_flag=True, help="Print JSON.")
@click.option("--show-code", is_flag=True, help="Print the first lines of each hit's code.")
def search(
    query: str,
    repo: str | None,
    limit: int,
    language: str | None,
    kind: str | None,
    path_glob: str | None,
    json_output: bool,
    show_code: bool,
) -> None:
    """Search the index for QUERY: words, an identifier (parse_price), a qualified name
    (Checkout.place_order) or a path (shop/retry.py), which ranks its exact match first."""
    from mnemo_dagster.cli.render import hits_text

    if not query.strip():
        raise MnemoError("the query is empty: give some words, a name or a path to search for")
    size = len(query.strip())
    if size > MAX_QUERY_CHARS:
        click.echo(f"mnemo: the query has {size} characters; searching its first {MAX_QUERY_CHARS}", err=True)
    request = {
        "query": query,
        "repository": repo,
        "limit": limit,
        "language": language,
        "kind": kind,
        "path": path_glob,
        "check_repository": True,
    }
    hits = _search(request)
    if json_output:
        fields = (*JSON_FIELDS, "content") if show_code else JSON_FIELDS
        click.echo(json.dumps([{k: h.get(k) for k in fields} for h in hits], indent=2))
    elif hits:
        click.echo(hits_text(hits, show_code=show_code))
    else:
        filters = [f"--{n} {v}" for n, v in (("repo", repo), ("language", language), ("kind", kind)) if v]
        filters += [f"--path {path_glob}"] if path_glob else []
        where = f" with {' '.join(filters)}" if filters else ""
        click.echo(f"No results for {query.strip()[:80]!r}{where}.")
