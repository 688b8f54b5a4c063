"""Decode the import statements the tags query captured, per language, into import records.

The query marks the parts of a statement with ``@import.*`` captures; this module turns them into
(module, imported name, alias) triples: ``from m import a as b``, ``import x from "m"``,
``const {a, b: c} = require("m")``, Rust use trees such as ``use a::{b, c::d as e, f::*}`` and
Scala paths with selectors (``import a.b.{C, D => E}``).

Captures: ``@import.module`` (with ``@import.name``, ``@import.alias``, ``@import.default``,
``@import.star``), ``@import.tree`` (a Rust use tree), ``@import.require`` with ``@import.binding``
(CommonJS), ``@import.path`` (a statement whose ``identifier`` children are a dotted path, Scala),
``@import.relative`` (Ruby's ``require_relative``: the module is recorded as ``./x``) and
``@import.fallback`` (kept only when no other pattern matched the statement).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mnemo_dagster.extract.nodes import line_of, text_of

if TYPE_CHECKING:
    from tree_sitter import Node

_QUOTES = "\"'`"


@dataclass(slots=True)
class ImportCapture:
    """One imported name (or whole module) of an import statement."""

    statement: Node
    module: str
    name: str | None
    alias: str | None
    line: int
    """1-based."""
    star: bool
    fallback: bool = False
    """Kept only when no other pattern matched its statement (``import "m"`` vs ``import x from "m"``)."""


def imports_of(source: bytes, captures: dict[str, Node]) -> Iterable[ImportCapture]:
    """The imports of one ``@reference.import`` match."""
    statement = captures["reference.import"]
    fallback = "import.fallback" in captures
    if "import.tree" in captures:
        for module, name, alias, line in _rust_use(source, captures["import.tree"], ""):
            yield ImportCapture(statement, module, name, alias, line, name == "*")
        return
    if "import.path" in captures:
        for module, name, alias, line in _path_import(source, captures["import.path"]):
            yield ImportCapture(statement, module, name, alias, line, name == "*")
        return
    module_node = captures["import.module"]
    module = _module_text(source, module_node)
    if "import.relative" in captures and not module.startswith((".", "/")):
        module = f"./{module}"  # Ruby's require_relative "user" names ./user(.rb)
    if "import.require" in captures:
        binding = captures.get("import.binding")
        for name, alias, line in _require_bindings(source, binding, statement):
            yield ImportCapture(statement, module, name, alias, line, name == "*", fallback)
        return
    name_node = captures.get("import.name")
    alias_node = captures.get("import.alias")
    default_node = captures.get("import.default")
    star = "import.star" in captures
    line_node = name_node or default_node or alias_node or module_node
    if default_node is not None:
        name: str | None = "default"
        alias: str | None = text_of(source, default_node)
    else:
        name = text_of(source, name_node) if name_node is not None else ("*" if star and alias_node else None)
        alias = text_of(source, alias_node) if alias_node is not None else None
    yield ImportCapture(statement, module, name, alias, line_of(line_node), star, fallback)


def _module_text(source: bytes, node: Node) -> str:
    """A module specifier without the quotes of a string literal (``"./user"`` -> ``./user``)."""
    text = text_of(source, node)
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        return text[1:-1]
    return text


def _path_import(source: bytes, statement: Node) -> Iterable[tuple[str, str, str | None, int]]:
    """Scala's ``import a.b.C``, ``import a.b.{C, D => E}``, ``import a.b._``: (module, name, alias, line).

    The statement's ``identifier`` children are the path; a selector list names several members of
    the path's last package, a wildcard all of them.
    """
    parts: list[str] = []
    tail: Node | None = None
    for child in statement.named_children:
        if child.type == "identifier":
            parts.append(text_of(source, child))
        else:
            tail = child
    package = ".".join(parts)
    if tail is None:
        if parts:
            yield package, parts[-1], None, line_of(statement)
        return
    if tail.type in ("namespace_wildcard", "wildcard"):
        yield package, "*", None, line_of(tail)
        return
    for selector in tail.named_children:
        if selector.type == "identifier":
            name = text_of(source, selector)
            yield f"{package}.{name}", name, None, line_of(selector)
        elif selector.type == "arrow_renamed_identifier":
            name_node, alias_node = (
                selector.child_by_field_name("name"),
                selector.child_by_field_name("alias"),
            )
            if name_node is not None:
                name = text_of(source, name_node)
                alias = text_of(source, alias_node) if alias_node is not None else None
                yield f"{package}.{name}", name, alias, line_of(selector)
        elif selector.type in ("namespace_wildcard", "wildcard"):
            yield package, "*", None, line_of(selector)


def _require_bindings(source: bytes, target: Node | None, call: Node) -> list[tuple[str, str | None, int]]:
    """``const x = require("m")`` -> ("*", "x"); ``const {a, b: c} = require("m")`` -> a, b as c."""
    line = line_of(call)
    if target is not None and target.type == "identifier":
        return [("*", text_of(source, target), line)]
    if target is not None and target.type == "object_pattern":
        bindings: list[tuple[str, str | None, int]] = []
        for child in target.named_children:
            if child.type == "shorthand_property_identifier_pattern":
                bindings.append((text_of(source, child), None, line_of(child)))
            elif child.type == "pair_pattern":
                key, local = child.child_by_field_name("key"), child.child_by_field_name("value")
                if key is not None and local is not None and local.type == "identifier":
                    bindings.append((text_of(source, key), text_of(source, local), line_of(child)))
        if bindings:
            return bindings
    return [("*", None, line)]


def _rust_use(source: bytes, node: Node, prefix: str) -> Iterable[tuple[str, str, str | None, int]]:
    """Expand a Rust use tree into (module path, imported name, alias, line) tuples."""

    def join(tail: str) -> str:
        return f"{prefix}::{tail}" if prefix else tail

    kind = node.type
    line = line_of(node)
    if kind == "use_list":
        for child in node.named_children:
            yield from _rust_use(source, child, prefix)
    elif kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        inner = join(text_of(source, path)) if path is not None else prefix
        items = node.child_by_field_name("list")
        if items is not None:
            yield from _rust_use(source, items, inner)
    elif kind == "use_wildcard":
        text = text_of(source, node)
        module = text[: -len("::*")] if text.endswith("::*") else ""
        yield (join(module) if module else prefix), "*", None, line
    elif kind == "use_as_clause":
        path, alias = node.child_by_field_name("path"), node.child_by_field_name("alias")
        if path is not None:
            full = join(text_of(source, path))
            yield full, full.rsplit("::", 1)[-1], text_of(source, alias) if alias is not None else None, line
    elif kind == "self" and prefix:
        yield prefix, prefix.rsplit("::", 1)[-1], None, line
    elif "comment" not in kind:
        full = join(text_of(source, node))
        yield full, full.rsplit("::", 1)[-1], None, line
