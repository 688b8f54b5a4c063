"""Positions and text of tree-sitter nodes, as the records want them (1-based lines, ``str``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node


def line_of(node: Node) -> int:
    """1-based line the node starts on."""
    return node.start_point[0] + 1


def text_line_of(source: bytes, node: Node) -> int:
    """1-based line of the node's first non-blank character (see :func:`text_of`)."""
    text = source[node.start_byte : node.end_byte]
    return line_of(node) + text[: len(text) - len(text.lstrip())].count(b"\n")


def end_line_of(node: Node) -> int:
    """1-based last line of the node, not counting a line the node only reaches with its newline."""
    row, column = node.end_point
    if column == 0 and row > node.start_point[0]:
        return row  # the node ends with a newline: its last line is the one before
    return row + 1


def text_of(source: bytes, node: Node) -> str:
    """The source text of ``node``, without surrounding whitespace (the bundled R grammar folds the
    blank lines before an identifier starting with ``.`` into the identifier)."""
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace").strip()
