"""Text renderings of what the core returns: the summary of a pass, status reports, search hits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def summary_text(data: dict[str, Any]) -> str:
    """A pass's summary (``mnemo index --json``'s object:
    :meth:`~mnemo_dagster.indexing.passes.PassSummary.as_dict`) for people."""
    files, chunks, graph = data["files"], data["chunks"], data["graph"]
    lines = [
        f"Indexed {data['repository']} in {data['seconds']:.1f} s: {files['indexed']} files indexed, "
        f"{files['failed']} failed, {files['skipped']} skipped, {files['deleted']} deleted; "
        f"{chunks['total']} chunks ({chunks['embedded']} embedded, {chunks['reused']} reused); "
        f"graph {graph['nodes']} nodes, {graph['edges']} edges."
    ]
    if files["failed"]:
        lines.append(f"{files['failed']} file(s) failed; see `mnemo status {data['repository']}`.")
    return "\n".join(lines)


RETRY_HINT = "run the same `mnemo index` again to retry what failed: finished files are kept"


def first_line(message: str) -> str:
    """The first non-empty line of an error message (a database error runs on with its SQL)."""
    return next((line.strip() for line in message.splitlines() if line.strip()), message)[:300]


def failures_text(data: dict[str, Any]) -> str | None:
    """What failed in a pass (its summary, as :func:`summary_text` takes it), one line each, then how
    to retry, for stderr; None when nothing did."""
    errors = data["errors"]
    if not errors:
        return None
    lines = [f"{key} failed: {first_line('; '.join(messages))}" for key, messages in errors.items()]
    return "\n".join([*lines, f"mnemo: {RETRY_HINT}"])


def status_text(report: dict[str, Any]) -> str:
    f = report["files"]
    lines = [
        f"{report['repository']}  ({report['root_path']})",
        f"  files: {f['indexed']} indexed, {f['pending']} pending, {f['failed']} failed, "
        f"{f['skipped']} skipped; {report['batches']} batches; {report['chunks']} chunks; "
        f"graph: {report['nodes']} nodes, {report['edges']} edges",
    ]
    disk = report.get("changed_on_disk")
    if disk and disk.get("checked"):
        counts = f"{disk['changed']} changed, {disk['new']} new, {disk['deleted']} deleted"
        lines.append(f"  on disk since indexed: {counts}")
        lines += [f"    {path}" for path in disk["paths"]]
    elif disk:
        lines.append(f"  on disk: not checked ({disk['reason']})")
    lines += [f"  failed   {item['path']}: {item['reason']}" for item in report["failed"]]
    lines += [f"  warning  {item['path']}: {item['warning']}" for item in report["warnings"][:20]]
    if report["skipped"]:
        reasons = Counter(item["reason"].split(" (")[0] for item in report["skipped"])
        lines.append("  skipped: " + ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())))
    for run in report.get("recent_runs", [])[:5]:
        lines.append(f"  run {run['run_id'][:8]} {run['job']} {run['partition'] or ''} {run['status']}")
    return "\n".join(lines)


SNIPPET_LINES = 12
"""Lines of code ``mnemo search --show-code`` prints per hit."""


def hits_text(hits: Iterable[Mapping[str, Any]], *, show_code: bool) -> str:
    """Search hits (``SearchHit.as_dict()``), best first: location, kind and name, score, then the
    signature line, or with ``show_code`` the first lines of the code, numbered."""
    lines = []
    for hit in hits:
        place = f"{hit['file_path']}:{hit['start_line']}-{hit['end_line']}"
        symbol = hit["qualified_name"].partition("::")[2] or "(module)"
        exact = ", exact match" if hit.get("match") == "exact" else ""
        stale = ", changed on disk since indexed" if hit.get("stale") else ""
        repository = f"{hit['repository']}  " if hit.get("repository") else ""
        lines.append(f"{repository}{place}  {hit['kind']} {symbol}  [score {hit['score']:.3f}{exact}{stale}]")
        if show_code:
            code = hit.get("content", "").splitlines()[:SNIPPET_LINES]
            width = len(str(hit["start_line"] + len(code)))
            lines += [f"    {hit['start_line'] + n:>{width}}  {line}" for n, line in enumerate(code)]
        elif hit.get("signature"):
            lines.append(f"    {hit['signature']}")
    return "\n".join(lines)


def db_status_text(report: Mapping[str, Any]) -> str:
    """Where the index database is (``ServerStatus.as_dict()``), a fact a line."""
    if report["kind"] == "external":
        return f"index database: external PostgreSQL at {report['url']}"
    if not report["running"]:
        return f"index database: embedded PostgreSQL, not running\ndata directory: {report['data_dir']}"
    return "\n".join(
        [
            "index database: embedded PostgreSQL, running",
            f"data directory: {report['data_dir']}",
            f"postmaster pid: {report['pid']}",
            f"socket directory: {report['socket_dir']}",
        ]
    )
