"""``mnemo map``: a repo map for a coding agent's context, its most important files and symbols.

:func:`mnemo_dagster.context.repo_map.repo_map` answers; the command prints its text (notes such as
"showing 13 of 28 files" go to stderr) or, with ``--json``, its ``as_dict()``. It reads the index only:
no embedding model is loaded. An unknown repository, a focus that names nothing or a budget out of
bounds is one line on stderr and exit code 2.
"""

from __future__ import annotations

import json

import click


@click.command("map")
@click.argument("repository", required=False)
@click.option(
    "--focus",
    multiple=True,
    metavar="PATH_OR_SYMBOL",
    help="Rank around this file, directory or symbol (repeatable).",
)
@click.option(
    "--tokens",
    type=click.IntRange(min=1),
    default=1024,  # DEFAULT_BUDGET of the repo map, not imported: the command starts without SQLAlchemy
    show_default=True,
    help="Token budget of the map (the map fits it within 15%).",
)
@click.option("--json", "json_output", is_flag=True, help="Print JSON.")
def map_command(repository: str | None, focus: tuple[str, ...], tokens: int, json_output: bool) -> None:
    """The most important files of REPOSITORY and their symbols' signatures, ranked by PageRank over the
    symbol graph (personalised to --focus), in about --tokens tokens. REPOSITORY may be left out when
    only one repository is indexed."""
    from mnemo_dagster.context.repo_map import repo_map
    from mnemo_dagster.wiring import wire

    with wire() as wiring:
        answer = repo_map(wiring.store, repository, focus, tokens)
    if json_output:
        click.echo(json.dumps(answer.as_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(answer.text)
    for note in answer.notes:
        click.echo(f"mnemo: {note}", err=True)
