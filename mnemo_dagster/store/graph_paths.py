"""The shortest path between two nodes of the stored graph, by a breadth-first search from both ends.

Each step of the search asks ``graph_edges`` for the edges leaving (or entering) one frontier, so a
path across a large repository reads only the neighbourhoods it visits, never the whole graph. The
smaller frontier is expanded first; the search stops at the first level where the two meet.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mnemo_dagster.store.schema import graph_edges, slices

MAX_LEVELS = 64
"""Levels expanded (from both ends together) before the search gives up: no path, then."""

Parents = dict[int, tuple[int, str] | None]
"""Node id -> (the node it was reached from, the kind of that edge); None for the start."""


def _expand(
    conn: Connection, frontier: Sequence[int], kinds: Sequence[str], parents: Parents, *, forward: bool
) -> list[int]:
    """Visit the unvisited neighbours of ``frontier`` (successors if ``forward``, else predecessors),
    recording their parents; return them in id order (so ties break the same way every time)."""
    near, far = (graph_edges.c.source_id, graph_edges.c.target_id)[:: 1 if forward else -1]
    found: list[int] = []
    for part in slices(list(frontier)):
        rows = conn.execute(
            sa.select(near, far, graph_edges.c.kind)
            .where(near.in_(part), graph_edges.c.kind.in_(kinds))
            .order_by(near, far, graph_edges.c.kind)
        )
        for here, there, kind in rows:
            if there not in parents:
                parents[there] = (here, kind)
                found.append(there)
    return sorted(found)


def _walk(parents: Parents, node: int) -> list[tuple[int, str | None]]:
    """(node, kind of the edge between it and the next one back) from ``node`` to where ``parents`` starts."""
    steps: list[tuple[int, str | None]] = []
    link = parents[node]
    while link is not None:
        steps.append((node, link[1]))
        node = link[0]
        link = parents[node]
    steps.append((node, None))
    return steps


def shortest_path(
    conn: Connection, source: int, target: int, kinds: Sequence[str]
) -> list[tuple[int, str | None]]:
    """The nodes of a shortest directed path from ``source`` to ``target`` along edges of ``kinds``,
    each with the kind of the edge that led to it (None for ``source``); empty when there is none."""
    if source == target:
        return [(source, None)]
    ahead: Parents = {source: None}
    behind: Parents = {target: None}
    frontiers = {True: [source], False: [target]}
    for _ in range(MAX_LEVELS):
        if not frontiers[True] or not frontiers[False]:
            return []
        forward = len(frontiers[True]) <= len(frontiers[False])
        reached = _expand(conn, frontiers[forward], kinds, ahead if forward else behind, forward=forward)
        frontiers[forward] = reached
        meetings = [node for node in reached if node in (behind if forward else ahead)]
        if meetings:
            # Every meeting node closes a path of the same (shortest) length; the lowest id wins.
            meet = min(meetings)
            first_half = list(reversed(_walk(ahead, meet)))
            # Walking ``behind`` from the meeting node gives each node with the edge that leaves it.
            second_half = _walk(behind, meet)
            tail = [(second_half[i + 1][0], second_half[i][1]) for i in range(len(second_half) - 1)]
            return first_half + tail
    return []
