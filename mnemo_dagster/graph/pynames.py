"""The names and tables of the Python linker (:mod:`.pylink`): external and builtin names, the call
edges of one file, and the repository-wide tables resolution reads (other packages' classes that
classes subclass, the subclasses of each class), with the tokens lookups record when they read them
(:mod:`.memo`)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mnemo_dagster.models import qualified_name

EXTERNAL = "<external>::"
"""Prefix of the names of what another package defines."""
BUILTIN = "<builtin>::"
"""Prefix of the names of Python's builtins."""
SUBCLASSES = "<subclasses>"
"""The token a lookup reads where it uses :attr:`PythonLinker.subclass_table` (:mod:`.memo`)."""
CLASSES = "<external classes>"
"""The token a lookup reads where it uses :attr:`PythonLinker.classes`."""


@dataclass(frozen=True, slots=True)
class FileLinks:
    """The call edges of one Python file, and what their resolution read."""

    total: int
    """Call sites (and calls no syntax writes that resolved)."""
    resolved: int
    """Call sites that reach a definition of the repository."""
    external: int
    """Call sites that reach only external names."""
    edges: list[tuple[str, str, int]]
    """(source, target, line) per reached definition or external name."""
    reads: frozenset[Hashable]
    """Files (paths) and tables (:data:`SUBCLASSES`, :data:`CLASSES`) the resolution read."""


def members_token(name: str) -> str:
    """What a lookup of the classes that define ``name`` reads (:meth:`PythonLinker.definers`)."""
    return f"<members>:{name}"


def callable_kind(kind: str | None) -> bool:
    return kind not in (None, "module")


def summary_classes(path: str, summary: dict[str, Any]) -> list[str]:
    return [qualified_name(path, dotted) for dotted in summary["bases"]]


def external_classes(summaries: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The dotted names of other packages' classes that the bases in ``summaries`` name."""
    found = set()
    for summary in summaries:
        for encoded in (e for values in summary["bases"].values() for e in values):
            if isinstance(encoded, list) and encoded[0] == "x" and "()" not in encoded[3:]:
                spec, name = encoded[1], encoded[2]
                found.add(".".join([spec, *([name] if name else []), *encoded[3:]]))
    return frozenset(found)


def subclasses(mros: Mapping[str, Mapping[str, list[str]]]) -> dict[str, list[str]]:
    """Class -> every class that has it in its MRO, from each file's :meth:`PythonLinker.class_mros`."""
    table: dict[str, list[str]] = {}
    for path in sorted(mros):
        for cls, order in mros[path].items():
            for base in order[1:]:
                table.setdefault(base, []).append(cls)
    return table


def is_external(name: str) -> bool:
    """Whether a graph name is an external or builtin name, not a definition of the repository."""
    return name.startswith((EXTERNAL, BUILTIN))


_MARKER_BASES = ("typing.", "typing_extensions.", "abc.ABC", "builtins.object")


def marker_base(name: str) -> bool:
    """Whether an external base class only marks its subclasses (generic, abstract) and provides them
    no methods to call."""
    return name.removeprefix(EXTERNAL).startswith(_MARKER_BASES)


def external_step(name: str, step: str, classes: frozenset[str] = frozenset()) -> str | None:
    """One step from an external name: an attribute extends it; calling a class gives its instance,
    named by the class (as :func:`external_name` names ``Session().get``); else None."""
    dotted = name.partition("::")[2]
    last = dotted.rsplit(".", 1)[-1]
    if step == "()":
        return name if last[:1].isupper() or dotted in classes else None
    return None if last.startswith("__") else f"{name}.{step}"


def external_name(
    spec: str, name: str | None, steps: list[str], classes: frozenset[str] = frozenset()
) -> str | None:
    """The external name of an import of ``spec`` (``name`` from it) followed by ``steps``, or None
    where the chain calls something not known to be a class: its name begins with a capital, or it is
    in ``classes`` (another package's classes the repository subclasses)."""
    if spec.startswith(".") or not spec:
        return None  # a relative import that did not resolve: the repository's own, unknown
    dotted = spec if name is None else f"{spec}.{name}"
    for n, step in enumerate(steps):
        if step != "()":
            if dotted.rsplit(".", 1)[-1].startswith("__"):
                return None  # an attribute of ``pkg.__version__``: a value's, not the package's
            dotted = f"{dotted}.{step}"
            continue
        last = dotted.rsplit(".", 1)[-1]
        if n == len(steps) - 1 or not (last[:1].isupper() or dotted in classes):
            return None
    if dotted.startswith("builtins."):
        return BUILTIN + dotted.removeprefix("builtins.")
    return EXTERNAL + dotted
