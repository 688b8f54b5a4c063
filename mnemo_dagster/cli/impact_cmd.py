"""``mnemo impact``: what a change touches, what calls it, and the tests that reach it.

The change is a unified diff (a file, or ``-`` for stdin: ``git diff | mnemo impact --diff -``), a
commit range that git diffs in the repository's root, or symbol names;
:func:`mnemo_dagster.context.impact.impact` answers, and the command prints its text or, with
``--json``, its ``as_dict()``. A bad range, an unknown symbol or repository, or a root that is not a
git checkout is one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import click


@click.command()
@click.argument("repository", required=False)
@click.option(
    "--diff",
    "diff_file",
    type=click.File("r", encoding="utf-8", errors="replace"),
    metavar="FILE|-",
    help="A unified diff (`git diff` output) in FILE, or `-` for stdin.",
)
@click.option(
    "--commits", metavar="A..B", help="A commit range (or A...B, or one commit), diffed by git in the root."
)
@click.option(
    "--symbol", "symbols", metavar="NAME", multiple=True, help="A changed symbol's name (repeatable)."
)
@click.option(
    "--depth",
    type=click.IntRange(1, 10),
    metavar="N",
    default=3,
    show_default=True,
    help="Callers up to N edges away.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    default=50,
    show_default=True,
    help="At most N entries in each list.",
)
@click.option(
    "--side",
    type=click.Choice(["auto", "old", "new"]),
    default="auto",
    show_default=True,
    help="Which side of the change the index holds (auto: by content for commits, else the old side).",
)
@click.option("--json", "json_output", is_flag=True, help="Print JSON.")
def impact(
    repository: str | None,
    diff_file: IO[str] | None,
    commits: str | None,
    symbols: tuple[str, ...],
    depth: int,
    limit: int,
    side: str,
    json_output: bool,
) -> None:
    """The symbols a change touches, their callers up to --depth edges away (ranked by distance, then
    PageRank) and the tests that reach them. Give the change as exactly one of --diff, --commits or
    --symbol. REPOSITORY defaults to the only indexed one, or the one the current directory is in."""
    if sum((diff_file is not None, commits is not None, bool(symbols))) != 1:
        raise click.UsageError("give exactly one of --diff FILE|-, --commits A..B or --symbol NAME")
    diff = diff_file.read() if diff_file is not None else None
    from mnemo_dagster.context.impact import impact as change_impact
    from mnemo_dagster.context.impact import repository_at
    from mnemo_dagster.context.impact_text import impact_text
    from mnemo_dagster.wiring import wire

    with wire() as wiring:
        name = repository or repository_at(wiring.store, Path.cwd())
        answer = change_impact(
            wiring.store,
            name,
            diff=diff,
            commits=commits,
            symbols=symbols,
            depth=depth,
            limit=limit,
            side=side,
        )
    click.echo(json.dumps(answer.as_dict(), indent=2) if json_output else impact_text(answer))
