"""Markdown pictures and tables of the symbol graph, for the metadata of ``graph_metrics``.

Pure text building: functions take plain rows (tuples, such as the named tuples that
:mod:`mnemo_dagster.store.insights` returns) and give back markdown or SVG.

The module graph comes two ways:

- **Mermaid** (:func:`module_graph_mermaid`), a ``flowchart`` in a fenced block, to paste where
  Mermaid renders (GitHub, mermaid.live, docs). Node ids are generated (``m0``, ``m1``... in rank
  order) and the file path is the node's quoted label, with every character that Mermaid or the
  fence could read as syntax written as a Mermaid entity code (``#35;`` for ``#``).
- **SVG** (:func:`module_graph_svg`), because Dagster's UI does not render Mermaid (1.13 shows the
  fence as code) but does show a markdown image whose source is a ``data:`` URI. It is drawn here,
  left to right like the flowchart: a module stands left of the modules it depends on (modules of an
  import cycle share a column), and columns are ordered to keep arrows short.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from xml.sax.saxutils import escape

MERMAID_SPECIAL = frozenset('"#&<>`\\[]{}|')
"""Characters written as ``#<code>;`` inside a Mermaid label: quotes end it, ``#`` starts an entity
code, ``<>&`` would be read as HTML, a backtick starts a markdown string or ends the fence, and
brackets or ``|`` confuse some Mermaid versions even inside quotes."""

MODULE_GRAPH_LEGEND = "Solid arrow: imports. Dotted arrow: calls or inherits without an import."
"""One line under each module picture that says what its arrows mean."""


def mermaid_label(text: str) -> str:
    """``text`` as a double-quoted Mermaid label, special and control characters as entity codes."""
    escaped = "".join(
        f"#{ord(ch)};" if ch in MERMAID_SPECIAL or ord(ch) < 32 or ord(ch) == 127 else ch for ch in text
    )
    return f'"{escaped}"'


def markdown_cell(text: str) -> str:
    """``text`` as inline code inside a markdown table cell (``|`` escaped, backticks kept apart)."""
    body = text.replace("|", "\\|")
    fence = "``" if "`" in body else "`"
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def module_graph_mermaid(
    modules: Sequence[tuple[str, float]], links: Iterable[tuple[str, str, bool, int]]
) -> str:
    """A Mermaid flowchart (in a fenced ```` ```mermaid ```` block) of ``modules`` and their links.

    ``modules`` are (path, rank) rows in the order to draw them; ``links`` are (source path, target
    path, imports, weight) rows. A link whose source imports its target is a solid arrow, one that
    only calls or inherits is dotted; links to paths outside ``modules`` are left out.
    """
    ids = {path: f"m{number}" for number, (path, _) in enumerate(modules)}
    lines = ["```mermaid", "flowchart LR"]
    lines += [f"  {ids[path]}[{mermaid_label(path)}]" for path, _ in modules]
    for source, target, imports, _ in links:
        if source in ids and target in ids and source != target:
            arrow = "-->" if imports else "-.->"
            lines.append(f"  {ids[source]} {arrow} {ids[target]}")
    lines.append("```")
    return "\n".join(lines)


def top_symbols_table(rows: Iterable[tuple[str, str, float, int]]) -> str:
    """A markdown table of (qualified name, kind, PageRank, in-degree) rows, in their order; the
    numbers come right after the name, so they stay in view when a narrow cell cuts the table."""
    lines = ["| symbol | PageRank | in-degree | kind |", "|---|---:|---:|---|"]
    lines += [
        f"| {markdown_cell(name)} | {rank:.4f} | {in_degree} | {kind} |"
        for name, kind, rank, in_degree in rows
    ]
    return "\n".join(lines)


def repository_sections(sections: Iterable[tuple[str, str]]) -> str:
    """Join (repository, markdown) pairs under one ``###`` heading per repository."""
    return "\n\n".join(f"### {name}\n\n{body}" for name, body in sections)


# --------------------------------------------------------------------------------------------------
# SVG

CHAR_WIDTH = 7.2
"""Advance of one character of the 12 px monospace font the labels use (an estimate: no font metrics)."""
BOX_HEIGHT, BOX_PADDING, ROW_GAP, COLUMN_GAP, MARGIN = 28, 12, 14, 64, 16
"""Geometry of the picture, in pixels."""


def _svg_text(text: str) -> str:
    """``text`` for SVG character data: XML-escaped, control characters (not allowed in XML) as U+FFFD."""
    return escape("".join("\ufffd" if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text))


def _columns(paths: Sequence[str], links: Sequence[tuple[str, str, bool]]) -> list[list[str]]:
    """Paths grouped into columns: longest-path layering of the graph of strongly connected sets,
    then a few barycenter sweeps so linked modules sit at similar heights."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(paths)
    graph.add_edges_from((s, t) for s, t, _ in links)
    condensed = nx.condensation(graph)
    depth: dict[int, int] = {}
    for part in nx.topological_sort(condensed):
        depth[part] = max((depth[p] + 1 for p in condensed.predecessors(part)), default=0)
    column_of = {path: depth[condensed.graph["mapping"][path]] for path in paths}
    columns: list[list[str]] = [[] for _ in range(max(column_of.values(), default=-1) + 1)]
    for path in paths:  # in rank order: the initial order within a column
        columns[column_of[path]].append(path)
    neighbours = graph.to_undirected()
    for sweep in (range(1, len(columns)), range(len(columns) - 2, -1, -1)) * 2:
        for index in sweep:
            # rows measured from the middle of their column, as the columns are drawn centred
            position = {p: i - (len(c) - 1) / 2 for c in columns for i, p in enumerate(c)}
            centre = {}
            for path in columns[index]:
                near = [position[n] for n in neighbours[path] if column_of[n] != index]
                centre[path] = sum(near) / len(near) if near else position[path]
            columns[index].sort(key=centre.__getitem__)
    return columns


def module_graph_svg(
    modules: Sequence[tuple[str, float]], links: Iterable[tuple[str, str, bool, int]]
) -> str:
    """An SVG picture of ``modules`` (path, rank) and ``links`` (source, target, imports, weight):
    boxes labelled with the paths, solid arrows for imports, dotted ones for calls or inheritance."""
    paths = [path for path, _ in modules]
    drawn = set(paths)
    edges = [(s, t, imports) for s, t, imports, _ in links if s in drawn and t in drawn and s != t]
    columns = _columns(paths, edges)
    widths = [max(len(p) for p in column) * CHAR_WIDTH + 2 * BOX_PADDING for column in columns]
    height = max((len(c) for c in columns), default=0) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP
    boxes: dict[str, tuple[float, float, float]] = {}  # path -> (left, top, width)
    left = float(MARGIN)
    for column, width in zip(columns, widths, strict=True):
        top = MARGIN + (height - (len(column) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP)) / 2
        for row, path in enumerate(column):
            boxes[path] = (left, top + row * (BOX_HEIGHT + ROW_GAP), width)
        left += width + COLUMN_GAP
    total_width = round(left - COLUMN_GAP + MARGIN) if columns else 2 * MARGIN
    total_height = round(max(height, 0) + 2 * MARGIN)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{total_height}" '
        f'font-family="monospace" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    for source, target, imports in edges:
        (x1, y1, w1), (x2, y2, w2) = boxes[source], boxes[target]
        y1, y2 = y1 + BOX_HEIGHT / 2, y2 + BOX_HEIGHT / 2
        if x1 == x2:  # an import cycle: both in one column, so loop round their right-hand side
            x1, x2 = x1 + w1, x2 + w2
            c1, c2 = x1 + COLUMN_GAP / 2, x2 + COLUMN_GAP / 2
        else:
            x1 += w1
            bend = max(COLUMN_GAP / 2, (x2 - x1) / 3)
            c1, c2 = x1 + bend, x2 - bend
        dash = "" if imports else ' stroke-dasharray="4 3"'
        parts.append(
            f'<path d="M{x1:.1f},{y1:.1f} C{c1:.1f},{y1:.1f} {c2:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
            f'fill="none" stroke="#444"{dash} marker-end="url(#arrow)"/>'
        )
    for path, (x, y, width) in boxes.items():
        parts.append(
            f'<g><title>{_svg_text(path)}</title><rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{BOX_HEIGHT}" rx="4" fill="#ececff" stroke="#9370db"/>'
            f'<text x="{x + BOX_PADDING:.1f}" y="{y + BOX_HEIGHT / 2 + 4:.1f}" fill="#222">'
            f"{_svg_text(path)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def svg_image(svg: str, alt: str) -> str:
    """Markdown for an image whose source is ``svg`` as a base64 ``data:`` URI."""
    data = base64.b64encode(svg.encode()).decode("ascii")
    alt_text = "".join(ch for ch in alt if ch not in "[]\\")
    return f"![{alt_text}](data:image/svg+xml;base64,{data})"
