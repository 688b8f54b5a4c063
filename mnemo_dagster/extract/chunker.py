"""Cut line ranges of a file into chunks within the size bounds: whole, in windows, or in slices."""

from __future__ import annotations

import math

from mnemo_dagster.extract.tags import METHOD_PARENTS, Definition
from mnemo_dagster.models import Chunk, ChunkKind

_CHUNK_KINDS: dict[str, ChunkKind] = {
    "class": "class",
    "function": "function",
    "method": "method",
    "interface": "interface",
    "type": "interface",
    "enum": "class",
    "scope": "block",
    "namespace": "block",
}
_SPLITTABLE = METHOD_PARENTS | {"namespace"}
"""Definitions that, when too large, split into their members rather than into line windows."""


class Chunker:
    """Emits chunks for line ranges (1-based, inclusive) within the size bounds."""

    def __init__(self, lines: list[str], max_chars: int, min_chars: int, good_starts: frozenset[int]) -> None:
        self.lines = lines
        self.max = max_chars
        self.min = min_chars
        self.good_starts = good_starts
        """Lines a top-level statement starts on: preferred places to cut a window."""
        self.chunks: list[Chunk] = []
        self.prefix = [0]
        total = 0
        for line in lines:
            total += len(line) + 1
            self.prefix.append(total)

    # -- helpers ---------------------------------------------------------------------------------

    def size(self, start: int, end: int) -> int:
        """Characters of the content of lines ``start..end``."""
        return self.prefix[end] - self.prefix[start - 1] - 1

    def blank(self, line: int) -> bool:
        """Whether the line holds only whitespace."""
        return not self.lines[line - 1].strip()

    def trim(self, start: int, end: int) -> tuple[int, int]:
        """The range without its leading and trailing blank lines (``start > end`` when all blank)."""
        while start <= end and self.blank(start):
            start += 1
        while end >= start and self.blank(end):
            end -= 1
        return start, end

    def content(self, start: int, end: int) -> str:
        """Lines ``start..end`` joined with ``"\\n"``."""
        return "\n".join(self.lines[start - 1 : end])

    def preferred_cut(self, line: int) -> bool:
        """Whether a window may well start at ``line``: after a blank line or at a top-level statement."""
        return line in self.good_starts or self.blank(line - 1)

    # -- emitting lines --------------------------------------------------------------------------

    def emit_range(self, start: int, end: int, kind: ChunkKind, name: str | None, path: str | None) -> None:
        """Lines ``start..end`` as one chunk, or as windows (and line slices) when too large."""
        start, end = self.trim(start, end)
        if start > end:
            return
        total = self.size(start, end)
        if total <= self.max:
            self.chunks.append(Chunk(kind, name, path, start, end, self.content(start, end)))
            return
        # Aim at windows of even size (the fewest windows that fit) rather than full ones and a scrap.
        soft = total / math.ceil(total / self.max)
        begin = start
        for line in range(start, end + 1):
            if len(self.lines[line - 1]) > self.max:
                self._emit_windows(self._windows(begin, line - 1, soft), kind, name, path)
                self._emit_slices(line, kind, name, path)
                begin = line + 1
        self._emit_windows(self._windows(begin, end, soft), kind, name, path)

    def _windows(self, start: int, end: int, soft: float) -> list[tuple[int, int]]:
        """Windows over lines ``start..end``, none of them longer than ``max``, cut where preferred."""
        windows: list[tuple[int, int]] = []
        begin, cut, line = start, 0, start
        while line <= end:
            if line > begin and self.preferred_cut(line) and self.size(begin, line - 1) >= soft:
                self._windows_into(windows, begin, line - 1)
                begin, cut = line, 0
            elif self.size(begin, line) > self.max:
                stop = cut - 1 if cut and self.size(begin, cut - 1) >= soft / 2 else line - 1
                self._windows_into(windows, begin, stop)
                begin, cut = stop + 1, 0
                continue  # line may still not fit after a cut at an earlier preferred line
            elif line > begin and self.preferred_cut(line):
                cut = line
            line += 1
        self._windows_into(windows, begin, end)
        return windows

    def _windows_into(self, windows: list[tuple[int, int]], start: int, end: int) -> None:
        start, end = self.trim(start, end)
        if start <= end:
            windows.append((start, end))

    def _emit_windows(
        self, windows: list[tuple[int, int]], kind: ChunkKind, name: str | None, path: str | None
    ) -> None:
        if len(windows) >= 2:
            (a, _), (_, d) = windows[-2], windows[-1]
            if self.size(windows[-1][0], d) < self.min and self.size(a, d) <= self.max:
                windows[-2:] = [(a, d)]
        for start, end in windows:
            self.chunks.append(Chunk(kind, name, path, start, end, self.content(start, end)))

    def _emit_slices(self, line: int, kind: ChunkKind, name: str | None, path: str | None) -> None:
        """Cut one over-long line into pieces of at most ``max`` characters, at a space or ; , } if near."""
        text = self.lines[line - 1]
        pos, length = 0, len(text)
        while pos < length:
            stop = min(pos + self.max, length)
            if stop < length:
                floor = pos + (3 * self.max) // 4
                best = max(text.rfind(sep, floor, stop) for sep in " ;,}")
                if best >= floor:
                    stop = best + 1
            piece = text[pos:stop]
            if piece.strip():
                self.chunks.append(Chunk(kind, name, path, line, line, piece))
            pos = stop

    # -- emitting definitions --------------------------------------------------------------------

    def definition(self, d: Definition) -> None:
        """Chunks of one definition: whole, split into members, or in windows."""
        kind = _CHUNK_KINDS[d.kind]
        start = d.chunk_start
        if self.size(start, d.end_line) <= self.max or d.kind not in _SPLITTABLE or not d.children:
            self.emit_range(start, d.end_line, kind, d.name, d.path)
        else:
            self.container(start, d.end_line, d.children, kind, d.name, d.path, is_module=False)

    def container(
        self,
        start: int,
        end: int,
        members: list[Definition],
        kind: ChunkKind,
        name: str | None,
        path: str | None,
        *,
        is_module: bool,
    ) -> None:
        """Members as their own chunks, the lines between them as chunks of the container's kind."""
        pos = start
        after_member = False
        for first, last, group in _clusters(start, end, members):
            if pos < first:
                self._gap(pos, first - 1, kind, name, path, merge=after_member and not is_module)
            if len(group) == 1:
                self.definition(group[0])
            else:
                self.emit_range(first, last, kind, name, path)
            pos = last + 1
            after_member = True
        if pos <= end:
            self._gap(pos, end, kind, name, path, merge=after_member and not is_module)

    def _gap(
        self, start: int, end: int, kind: ChunkKind, name: str | None, path: str | None, *, merge: bool
    ) -> None:
        start, end = self.trim(start, end)
        if start > end:
            return
        if merge and self.chunks and self.size(start, end) < self.min:
            last = self.chunks[-1]
            whole_lines = last.start_line != last.end_line or len(last.content) == len(
                self.lines[last.start_line - 1]
            )
            if whole_lines and last.end_line < start and self.size(last.start_line, end) <= self.max:
                content = self.content(last.start_line, end)
                self.chunks[-1] = Chunk(last.kind, last.name, last.symbol_path, last.start_line, end, content)
                return
        self.emit_range(start, end, kind, name, path)


def _clusters(start: int, end: int, members: list[Definition]) -> list[tuple[int, int, list[Definition]]]:
    """(first line, last line, members) of the line ranges the members of a container occupy."""
    clusters: list[tuple[int, int, list[Definition]]] = []
    for member in members:
        first, last = max(member.chunk_start, start), min(member.end_line, end)
        if clusters and member.start_line > clusters[-1][1]:
            # Comments above a member may end the previous member's range (Python block ends).
            first = max(first, clusters[-1][1] + 1)
        if clusters and first <= clusters[-1][1]:
            # Members that share a line (minified code) cannot be separated by lines.
            c_first, c_last, group = clusters[-1]
            group.append(member)
            clusters[-1] = (c_first, max(c_last, last), group)
        else:
            clusters.append((first, last, [member]))
    return clusters
