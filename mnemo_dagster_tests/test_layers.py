"""The package's shape: capability packages in layers, no circles, SQL only in the store, Dagster only
at the edges, and an opening line in every module that says what it owns.

Imports are read from the source (every ``import``, at module level, in a function or under
``TYPE_CHECKING``), so a circle hidden behind a late import is a circle here too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import mnemo_dagster

PACKAGE = Path(mnemo_dagster.__file__).parent

LAYERS = (
    ("errors", "models", "config"),
    ("graph",),
    ("extract",),
    ("store",),
    ("embedding",),
    ("wiring",),
    ("indexing", "retrieval"),
    ("context",),
    ("defs",),
    ("launch",),
    ("__init__", "mcp", "cli"),
)
"""Lowest first: a capability imports only from its own layer or the ones below."""

PURE = LAYERS[0] + ("graph", "extract", "store", "embedding", "wiring", "indexing", "retrieval", "context")
"""Capabilities that never import Dagster (the code location and the launch code do)."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Every module name ``path`` imports, resolved to a module of this package where one exists."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            subs = {f"{node.module}.{alias.name}" for alias in node.names} & MODULES.keys()
            found.update(subs or {node.module})
    return found


IMPORTS = {name: _imports(path) for name, path in MODULES.items()}


def capability(module: str) -> str:
    """``mnemo_dagster.store.chunks`` -> ``store``; the package itself is ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph(of: callable) -> nx.DiGraph:
    graph = nx.DiGraph()
    for module, imported in IMPORTS.items():
        for target in imported & MODULES.keys():
            if of(module) != of(target):
                graph.add_edge(of(module), of(target))
    return graph


def test_every_module_belongs_to_a_layer() -> None:
    known = {name for layer in LAYERS for name in layer}
    assert {capability(module) for module in MODULES} == known


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert list(nx.simple_cycles(_graph(lambda module: module))) == []


def test_capabilities_import_only_their_own_layer_or_lower() -> None:
    rank = {name: index for index, layer in enumerate(LAYERS) for name in layer}
    upward = sorted(
        f"{module} imports {target}"
        for module, imported in IMPORTS.items()
        for target in imported & MODULES.keys()
        if rank[capability(target)] > rank[capability(module)]
    )
    assert upward == []
    assert list(nx.simple_cycles(_graph(capability))) == []


def test_sql_lives_in_the_store() -> None:
    outside = sorted(
        module
        for module, imported in IMPORTS.items()
        if capability(module) != "store" and any(name.split(".")[0] == "sqlalchemy" for name in imported)
    )
    assert outside == []


def test_dagster_only_in_the_code_location_and_the_launch_code() -> None:
    static = sorted(
        module
        for module, imported in IMPORTS.items()
        if capability(module) in PURE and any(name.split(".")[0].startswith("dagster") for name in imported)
    )
    assert static == []
    # And at run time: importing every pure module loads no part of Dagster.
    pure = sorted(module for module in MODULES if capability(module) in PURE)
    code = (
        "import importlib, sys\n"
        f"for name in {pure!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0].startswith('dagster')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_opens_with_what_it_owns(module: str) -> None:
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text()))
    assert doc and doc.splitlines()[0].strip(), f"{module} has no opening line"
