"""The lines a repo map shows for a symbol: from its first line, past decorators and comments, to the
end of its parameter list (:func:`signature_of`)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from mnemo_dagster.store.map_queries import HeadLines, MapNode

SKIPPED = "⋮"
"""The line that stands for lines left out."""
SIGNATURE_MAX_LINES = 6
"""A longer signature (a parameter list over many lines) is cut after this many lines."""
MAX_LINE_CHARS = 160
"""A longer line (minified code, a long default value) is cut here, with ``…``."""
_DECORATOR_PREFIXES = ("@", "#[", "[")
"""Decorators and attributes above a definition (Python, Java, TypeScript, Rust, C#): left out of its
signature, their arguments too."""
_COMMENT_PREFIXES = ("#", "//", "/*", "*", "--")
"""Comments above a definition: left out of its signature."""


@dataclass(frozen=True, slots=True)
class Signature:
    """The lines a map shows for one symbol: ``lines[i]`` is line ``line + i`` of its file."""

    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The lines without their common indentation (a method's ``def`` at the left margin)."""
        return textwrap.dedent("\n".join(self.lines)).strip("\n")


def _depth(line: str) -> int:
    """Open ``(`` and ``[`` left on ``line`` (negative when it closes more)."""
    return line.count("(") + line.count("[") - line.count(")") - line.count("]")


def _cut(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= MAX_LINE_CHARS else line[: MAX_LINE_CHARS - 1] + "…"


def _is_preamble(stripped: str) -> bool:
    """Whether a line above a definition's own line is a comment (decorators are handled apart)."""
    return stripped.startswith(_COMMENT_PREFIXES)


def signature_of(node: MapNode, head: HeadLines | None) -> Signature:
    """The lines that introduce ``node``: from its first line, past decorators, attributes and comments,
    to the end of its parameter list (at most :data:`SIGNATURE_MAX_LINES`). Without ``head`` (no chunk
    holds it), a line made of its kind and name."""
    lines = head.lines if head else ()
    i, depth = 0, 0
    while i < len(lines):
        stripped = lines[i].strip()
        if depth > 0:  # inside a decorator's arguments
            depth += _depth(stripped)
        elif stripped.startswith(_DECORATOR_PREFIXES):
            depth = _depth(stripped)
        elif stripped and not _is_preamble(stripped):
            break
        i += 1
    if i == len(lines):  # nothing but decorators and comments: show the first of them
        i = next((k for k, line in enumerate(lines) if line.strip()), len(lines))
    if head is None or i == len(lines):
        return Signature(node.start_line, (f"{node.kind} {node.name}",))
    chosen: list[str] = []
    depth = 0
    for line in lines[i : i + SIGNATURE_MAX_LINES]:
        chosen.append(_cut(line))
        depth += _depth(line)
        if depth <= 0:
            break
    return Signature(head.start_line + i, tuple(chosen))


def parents(qualified_name: str) -> list[str]:
    """``a.py::A.B.c`` -> ``["a.py::A.B", "a.py::A"]``: the names of the definitions around a symbol."""
    path, sep, dotted = qualified_name.partition("::")
    if not sep:
        return []
    parts = dotted.split(".")
    return [f"{path}::{'.'.join(parts[:k])}" for k in range(len(parts) - 1, 0, -1)]


def render_file(path: str, shown: Iterable[Signature], last_line: int) -> str:
    """A file's part of the map: its path, then ``shown`` in line order with :data:`SKIPPED` wherever
    lines are left out (``last_line``: the file's last line)."""
    by_line: dict[int, str] = {}
    for signature in shown:
        for k, line in enumerate(signature.lines):
            by_line.setdefault(signature.line + k, line)
    out = [f"{path}:"]
    previous = 0
    for number in sorted(by_line):
        if number > previous + 1:
            out.append(SKIPPED)
        out.append(by_line[number])
        previous = number
    if by_line and previous < last_line:
        out.append(SKIPPED)
    return "\n".join(out)
