"""JavaScript/TypeScript calls by their receiver: ``this.m()``, ``super.m()``, ``ns.f()``, ``f()``.

The chunker records a call's name and enclosing symbol; :func:`js_facts` adds, per call, how its
callee is written, and the name a module exports as ``default``. :class:`JsCalls` resolves:

- ``f()`` / ``new C()``: a function or class in the enclosing scopes or the file (never a method:
  JavaScript has no implicit ``this``), else a name imported into the file (named or default import,
  followed through re-exports and ``export * from``);
- ``this.m()``: a method of the enclosing class, then of its bases along ``extends``;
- ``super.m()``: a method of the base classes only;
- ``ns.f()``: a namespace import's top-level ``f``, or the static method ``f`` of a class ``ns``.

Any other receiver (``a.b.c()``, ``foo().bar()``, an unknown object) stays unresolved and counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnemo_dagster.models import Reference, qualified_name

if TYPE_CHECKING:
    from tree_sitter import Node

    from mnemo_dagster.graph.resolution import FileIndex, Resolver

_CALLS = frozenset({"call_expression", "new_expression"})


def js_facts(root: Node) -> dict[str, Any]:
    """``{"calls": [[line, name, receiver kind, receiver name], ...], "default": name or None}``."""
    calls: list[list[Any]] = []
    default: str | None = None
    stack = [root]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind in _CALLS:
            fact = _call_fact(node)
            if fact is not None:
                calls.append(fact)
        elif (
            kind == "export_statement" and default is None and any(c.type == "default" for c in node.children)
        ):
            default = _default_name(node)
        stack.extend(node.named_children)
    calls.sort(key=lambda c: (c[0], c[1], c[2], c[3] or ""))
    return {"calls": calls, "default": default}


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace")


def _call_fact(node: Node) -> list[Any] | None:
    callee = node.child_by_field_name("constructor" if node.type == "new_expression" else "function")
    line = node.start_point[0] + 1
    if callee is None:
        return None
    if callee.type == "identifier":
        return [line, _text(callee), "new" if node.type == "new_expression" else "", None]
    if callee.type != "member_expression":
        return None
    prop = callee.child_by_field_name("property")
    obj = callee.child_by_field_name("object")
    if prop is None or obj is None:
        return None
    name = _text(prop)
    if obj.type == "this":
        return [line, name, "this", None]
    if obj.type == "super":
        return [line, name, "super", None]
    if obj.type == "identifier":
        return [line, name, "id", _text(obj)]
    return [line, name, "?", None]


def _default_name(node: Node) -> str | None:
    """The local name ``export default`` exports: a declared class/function or an identifier."""
    for child in node.named_children:
        if child.type in ("class_declaration", "function_declaration", "class", "function"):
            name = child.child_by_field_name("name")
            return _text(name) if name is not None else None
        if child.type == "identifier":
            return _text(child)
    return None


BASES = "<bases>"
"""The token a lookup reads where it uses the base classes of the ``inherits`` edges (:mod:`.memo`)."""


class JsCalls:
    """Resolves the calls of JavaScript/TypeScript files that have facts, by receiver."""

    def __init__(self, resolver: Resolver, bases: dict[str, list[str]]) -> None:
        """``bases``: class -> resolved base classes (from the ``inherits`` edges)."""
        self.resolver = resolver
        self.bases = bases

    def base_classes(self, cls: str) -> list[str]:
        """The resolved bases of ``cls`` (the table is read: :data:`BASES`)."""
        self.resolver.memo.read(BASES)
        return self.bases.get(cls, [])

    def resolve(self, ref: Reference, file: FileIndex, shapes: list[list[Any]]) -> list[str]:
        """Targets of one call reference, given the receiver shapes recorded on its line."""
        targets: list[str] = []
        for _, _, kind, receiver in shapes:
            if kind in ("", "new"):
                found = self.plain(ref, file)
                if kind == "new":
                    found += [c for f in found for c in self.method_chain(f, "constructor")[:1]]
            elif kind == "this":
                cls = self.enclosing_class(ref, file)
                found = self.method_chain(cls, ref.name)[:1] if cls else []
            elif kind == "super":
                cls = self.enclosing_class(ref, file)
                found = [m for b in self.base_classes(cls or "") for m in self.method_chain(b, ref.name)[:1]]
            elif kind == "id":
                found = self.on_identifier(ref, file, receiver)
            else:
                found = []
            targets += [t for t in found if t not in targets]
        return targets

    def plain(self, ref: Reference, file: FileIndex) -> list[str]:
        """A bare name: enclosing scopes and the file's functions/classes, then imports."""

        def accept(qualified: str | None) -> bool:
            return qualified is not None and self.resolver.kind(qualified) not in (None, "method", "module")

        scope = ref.source
        while True:
            dotted = f"{scope}.{ref.name}" if scope else ref.name
            if dotted in file.symbols and accept(qualified_name(file.path, dotted)):
                return [qualified_name(file.path, dotted)]
            if not scope:
                break
            scope = scope.rpartition(".")[0]
        binding = file.bindings.get(ref.name)
        if binding is not None and binding[0] == "name":
            target, _, inner = binding[1].partition("\0")
            found = self.exported(target, inner)
            return [found] if accept(found) else []
        return []

    def exported(self, module: str, name: str) -> str | None:
        """What a module exports as ``name`` (``default`` through the facts), following re-exports."""
        if name == "default":
            self.resolver.memo.read(module)
            record = self.resolver.records.get(module)
            facts = (record.flow or {}).get("js") if record is not None else None
            name = (facts or {}).get("default") or ""
            if not name:
                return None
        return self.resolver.name_in_module(module, name)

    def on_identifier(self, ref: Reference, file: FileIndex, receiver: str) -> list[str]:
        binding = file.bindings.get(receiver)
        if binding is not None and binding[0] == "module":
            found = self.resolver.name_in_module(binding[1], ref.name)
            return [found] if found is not None else []
        holder = Reference("calls", receiver, ref.source, ref.line)
        classes = [c for c in self.plain(holder, file) if self.resolver.kind(c) == "class"]
        return [m for c in classes for m in self.method_chain(c, ref.name)[:1]]

    def enclosing_class(self, ref: Reference, file: FileIndex) -> str | None:
        scope = ref.source
        while scope:
            symbol = file.symbols.get(scope)
            if symbol is not None and symbol.kind == "class":
                return qualified_name(file.path, scope)
            scope = scope.rpartition(".")[0]
        return None

    def method_chain(self, cls: str, name: str) -> list[str]:
        """``name`` defined directly in ``cls``, then in its bases (breadth first), in that order."""
        found: list[str] = []
        seen: set[str] = set()
        queue = [cls]
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            method = f"{current}.{name}"
            if self.resolver.kind(method) == "method":
                found.append(method)
            queue += self.base_classes(current)
        return found
