"""Unified diffs read into the lines each side of a change touches (:func:`parse_diff`), by the rules
of :mod:`mnemo_dagster.context.impact`: a removed line is changed, an inserted line touches its
neighbours unless blank lines stand between, and lines that replace others touch only those."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mnemo_dagster.errors import GraphQueryError

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True, slots=True)
class DiffFile:
    """One file of a unified diff: its paths and the lines of each side the change touches."""

    old_path: str | None
    """None for a file the diff adds."""
    new_path: str | None
    """None for a file the diff deletes."""
    old_lines: tuple[int, ...]
    """Lines of the old version the change touches (removed lines, and both neighbours of an insertion)."""
    new_lines: tuple[int, ...]
    """Lines of the new version the change touches (added lines, and both neighbours of a removal)."""


def _unquote(path: str) -> str:
    """A path as git writes it: C-quoted (``"a/caf\\303\\251.py"``) when it holds unusual characters."""
    if not (len(path) >= 2 and path[0] == path[-1] == '"'):
        return path
    escapes = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}
    out, body, i = bytearray(), path[1:-1], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(escapes.get(nxt, ord(nxt)))
            i += 2
            continue
        out += char.encode()
        i += 1
    return out.decode("utf-8", errors="replace")


def _header_path(raw: str, prefix: str) -> str | None:
    """The path of a ``---``/``+++`` line's rest: None for ``/dev/null``; git's ``a/``/``b/`` dropped."""
    raw = raw.rstrip("\r")
    if not raw.startswith('"'):
        raw = raw.split("\t", 1)[0]  # `diff -u` puts a timestamp after a tab
    path = _unquote(raw.strip())
    if path == "/dev/null":
        return None
    return path.removeprefix(prefix)


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip())


def _neighbours(run: Sequence[str], before: int) -> set[int]:
    """The lines of the other side that a run of inserted lines (``run``, lying between lines ``before``
    and ``before + 1`` of that side) touches: a line attaches to the line above unless a blank inserted
    line separates them (an indented line still attaches when no less indented line precedes it in the
    run: it continues the block above), and to the line below unless a blank inserted line follows it."""
    touched: set[int] = set()
    blank_below = [False] * (len(run) + 1)
    for i in range(len(run) - 1, -1, -1):
        blank_below[i] = blank_below[i + 1] or not run[i].strip()
    blank_above = False
    least_indent: int | None = None  # of the non-blank lines above, in the run
    for i, text in enumerate(run):
        if not text.strip():
            blank_above = True
            continue
        indent = _indent(text)
        if not blank_above or (indent > 0 and (least_indent is None or least_indent >= indent)):
            touched.add(before)
        if not blank_below[i + 1]:
            touched.add(before + 1)
        least_indent = indent if least_indent is None else min(least_indent, indent)
    return touched


def _own_lines(block: Sequence[tuple[int, str]], other: Sequence[tuple[int, str]]) -> set[int]:
    """The lines of one side a replaced block touches: its non-blank lines; all of them when they are
    blank but the other side's are not (blank lines became code)."""
    lines = {number for number, text in block if text.strip()}
    if not lines and any(text.strip() for _, text in other):
        lines = {number for number, _ in block}
    return lines


class _FileBuilder:
    def __init__(self) -> None:
        self.old_path: str | None = None
        self.new_path: str | None = None
        self.git_old: str | None = None
        self.git_new: str | None = None
        self.headers = False
        self.old_lines: set[int] = set()
        self.new_lines: set[int] = set()
        self.hunks = 0
        self.removed: list[tuple[int, str]] = []
        self.added: list[tuple[int, str]] = []

    def flush(self, old_at: int, new_at: int) -> None:
        """Account for the block of removed and added lines that ends before old line ``old_at`` and
        new line ``new_at``."""
        removed, added = self.removed, self.added
        if removed and added:  # a replacement: each side's own lines
            self.old_lines |= _own_lines(removed, added)
            self.new_lines |= _own_lines(added, removed)
        elif added:  # an insertion, between two old lines
            self.new_lines |= _own_lines(added, ())
            self.old_lines |= _neighbours([text for _, text in added], old_at - 1)
        elif removed:  # a removal, between two new lines
            self.old_lines |= _own_lines(removed, ())
            self.new_lines |= _neighbours([text for _, text in removed], new_at - 1)
        self.removed, self.added = [], []

    def build(self) -> DiffFile | None:
        old = self.old_path if self.headers else self.git_old
        new = self.new_path if self.headers else self.git_new
        if old is None and new is None:
            return None
        return DiffFile(
            old,
            new,
            tuple(sorted(n for n in self.old_lines if n > 0)),
            tuple(sorted(n for n in self.new_lines if n > 0)),
        )


def parse_diff(text: str) -> list[DiffFile]:
    """The files of a unified diff (``git diff`` output, or ``diff -u``), each with the lines of either
    side its hunks touch (see the module docstring). A file with no hunk (a binary file, a mode change)
    has no lines. Raises :class:`GraphQueryError` for a combined diff (of a merge commit) or a text with
    hunks but no file header."""
    files: list[_FileBuilder] = []
    current: _FileBuilder | None = None
    old_left = new_left = 0
    old_at = new_at = 0
    for line in text.split("\n"):
        if old_left > 0 or new_left > 0:
            assert current is not None
            tag, content = line[:1], line[1:].rstrip("\r")
            if tag == "\\":  # "\ No newline at end of file"
                continue
            if tag == "-":
                current.removed.append((old_at, content))
                old_at += 1
                old_left -= 1
            elif tag == "+":
                current.added.append((new_at, content))
                new_at += 1
                new_left -= 1
            else:  # context (an empty line is a context line whose leading space was stripped)
                current.flush(old_at, new_at)
                old_at += 1
                new_at += 1
                old_left -= 1
                new_left -= 1
            if old_left <= 0 and new_left <= 0:
                current.flush(old_at, new_at)
            continue
        if line.startswith("diff --cc ") or line.startswith("diff --combined ") or line.startswith("@@@"):
            raise GraphQueryError(
                "a combined diff (of a merge commit) cannot be mapped onto one version; "
                "give `git diff PARENT MERGE` instead"
            )
        if line.startswith("diff --git "):
            current = _FileBuilder()
            files.append(current)
            paths = re.fullmatch(r'diff --git ("?a/.*"?) ("?b/.*"?)', line.rstrip("\r"))
            if paths:
                current.git_old = _header_path(paths.group(1), "a/")
                current.git_new = _header_path(paths.group(2), "b/")
            continue
        if line.startswith("--- ") and (current is None or current.hunks or current.headers):
            current = _FileBuilder()  # a plain `diff -u` file, or several without `diff --git` lines
            files.append(current)
        if current is None:
            if _HUNK.match(line):
                raise GraphQueryError(
                    "the diff has a hunk before any file header (`--- a/path`, `+++ b/path`)"
                )
            continue
        if line.startswith("--- "):
            current.headers = True
            current.old_path = _header_path(line[4:], "a/")
        elif line.startswith("+++ "):
            current.headers = True
            current.new_path = _header_path(line[4:], "b/")
        elif line.startswith("rename from "):
            current.git_old = _unquote(line[12:].rstrip("\r"))
        elif line.startswith("rename to "):
            current.git_new = _unquote(line[10:].rstrip("\r"))
        elif line.startswith("new file mode"):
            current.git_old = None
        elif line.startswith("deleted file mode"):
            current.git_new = None
        elif match := _HUNK.match(line):
            old_start, old_count, new_start, new_count = match.groups()
            old_left = 1 if old_count is None else int(old_count)
            new_left = 1 if new_count is None else int(new_count)
            # An empty side's start is the line before the change.
            old_at = int(old_start) + (old_left == 0)
            new_at = int(new_start) + (new_left == 0)
            current.hunks += 1
    return [built for built in (f.build() for f in files) if built is not None]


def line_ranges(lines: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Sorted line numbers folded into inclusive ``(first, last)`` ranges."""
    ranges: list[list[int]] = []
    for line in sorted(set(lines)):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1][1] = line
        else:
            ranges.append([line, line])
    return tuple((first, last) for first, last in ranges)
