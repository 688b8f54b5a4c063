"""The text of a change's impact (:func:`impact_text`): what changed, the callers that reach it by
distance with the path they came through, and the tests, in a token budget."""

from __future__ import annotations

from collections.abc import Sequence

from mnemo_dagster.context.impact import Impact, ImpactedSymbol, short_name
from mnemo_dagster.context.tokens import truncate_to_tokens
from mnemo_dagster.graph.answers import GraphSymbol


def _place(symbol: GraphSymbol) -> str:
    return f"{symbol.file_path}:{symbol.start_line}-{symbol.end_line}"


def _spans(ranges: Sequence[tuple[int, int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _trail(found: ImpactedSymbol) -> str:
    steps = [short_name(found.path[0])]
    steps += [f"-{edge}-> {short_name(name)}" for edge, name in zip(found.edges, found.path[1:], strict=True)]
    return " ".join(steps)


def _reached_lines(found: Sequence[ImpactedSymbol]) -> list[str]:
    width = max(len(f.symbol.qualified_name) for f in found)
    where = max(len(_place(f.symbol)) for f in found)
    return [
        f"  {f.distance:>2}  {f.symbol.qualified_name:<{width}}  {_place(f.symbol):<{where}}  {_trail(f)}"
        for f in found
    ]


def _more(count: int, what: str) -> list[str]:
    return [f"  ... and {count} more {what} (raise --limit)"] if count else []


def impact_text(answer: Impact, budget: int | None = None) -> str:
    """``answer`` as text for a terminal or a prompt; cut to ``budget`` tokens when one is given."""
    cut = answer.cut
    lines = [
        f"Change impact in {answer.repository} of {answer.source} {answer.subject}: "
        f"{len(answer.changed) + cut.get('changed', 0)} changed, "
        f"{len(answer.callers) + cut.get('callers', 0)} caller(s) within {answer.depth}, "
        f"{len(answer.tests) + cut.get('tests', 0)} test(s) within {answer.test_depth}"
    ]
    if answer.files:
        lines.append("Files (changed lines, in the version the index holds):")
        width = max(len(f.path) for f in answer.files)
        for f in answer.files:
            renamed = (
                f" (from {f.old_path})" if f.old_path and f.new_path and f.old_path != f.new_path else ""
            )
            lines.append(
                f"  {f.path:<{width}}  {_spans(f.lines) or '-'}  [{f.side} side, {f.status}]{renamed}"
            )
        lines += _more(cut.get("files", 0), "files")
    lines.append("Changed:" if answer.changed else "Changed: none")
    if answer.changed:
        width = max(len(c.symbol.qualified_name) for c in answer.changed)
        for c in answer.changed:
            touched = f"  lines {_spans(c.lines)}" if c.lines else ""
            lines.append(
                f"  {c.symbol.qualified_name:<{width}}  {c.symbol.kind:<8}  {_place(c.symbol)}{touched}"
            )
        lines += _more(cut.get("changed", 0), "changed symbols")
    lines.append("Callers (distance, symbol, place, path):" if answer.callers else "Callers: none")
    if answer.callers:
        lines += _reached_lines(answer.callers) + _more(cut.get("callers", 0), "callers")
    lines.append("Tests (distance, test, place, path):" if answer.tests else "Tests: none reach the change")
    if answer.tests:
        lines += _reached_lines(answer.tests) + _more(cut.get("tests", 0), "tests")
    lines += [f"Note: {note}" for note in answer.notes]
    text = "\n".join(lines)
    return text if budget is None else truncate_to_tokens(text, budget)
