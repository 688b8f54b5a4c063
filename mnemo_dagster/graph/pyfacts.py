"""Extract the flow facts of one Python file: what its names, attributes, items and calls can hold.

Index time parses each file once anyway; the facts are small JSON that :mod:`.pyflow` solves at index
time, one module at a time, without parsing again. Scopes are named by the dotted symbol paths the
chunker gives definitions (``""`` for the module, ``A.m`` for a method); a lambda gets the scope
``<parent>.<lambda:LINE:COL>``, a graph node of its own (kind ``lambda``).

An expression is a JSON list:

- ``["n", name]``: a name, looked up from the fact's scope (local, enclosing functions, module);
  ``["n", name, version]``: a local name read after the ``version``-th assignment that stands at the
  top level of its scope's body (which replaces what the name held, for later reads in that scope);
- ``["a", expr, attr]``: an attribute;
- ``["r", site]``: what the call site with that index returns;
- ``["f", scope]``: the function, class or lambda defined with that scope in this file;
- ``["u", [expr, ...]]``: any of several (``x or y``, conditional expressions);
- ``["c", site, kind]``: the container built at ``site`` (a literal, a comprehension, ``list(x)``):
  ``"s"`` a list, tuple or set, ``"d"`` a dict; its items are stored by ``["k", ...]`` targets;
- ``["k", expr, key]``: the item ``key`` of the containers ``expr`` holds, ``key`` a literal
  (``"0"``, ``"'name"``) or None (any); ``["k", expr, key, "c"]``: only from containers;
- ``["K", expr, key expr]``: the item of the containers ``expr`` holds at a key that a name holds: the
  items of those keys where the name holds only literals, else any item;
- ``["L", key]``: an integer or string literal passed as an argument (``dispatch("add")``) or given
  as a parameter's default, which the parameter then holds;
- ``["e", expr, how]``: the elements iterating ``expr`` gives (``how`` ``""``), or a dict's values
  (``"v"``); ``"c"`` in ``how``: only from containers;
- ``["d", site, expr, mode]``: a container derived from those ``expr`` holds, at ``site``: all items but
  one (``["x", key]``: a new version of a container whose item ``key`` is replaced; what is no
  container stays), a copy (``["c"]``), or a slice (``["s", start, stop]``, start None when the bounds
  are no literals);
- ``["i", expr]``: an instance of the classes ``expr`` holds (``except E as e``);
- ``["w", expr]``: what ``with expr as x`` binds besides what ``__enter__`` returns;
- ``["P", expr, n]``: ``functools.partial`` of what ``expr`` holds, with ``n`` positional arguments;
- ``["M", spec, level_name]``: a module named by an import (``level_name`` is None or a submodule);
- ``["S", class scope]``: ``super()`` inside a method of that class;
- ``["D", site, expr]``: a definition through a decorator: what the decorator call at ``site``
  returns when it resolves to a function of the repository that returns something, else ``expr``.

Containers keep their items apart: ``[f, g][1]`` and ``{"k": f}["k"]`` hold one function each, and an
item stored at the top level of a scope (``table["k"] = f``) replaces the earlier one for what the
scope reads afterwards. Iterating calls ``__iter__``/``__next__``, ``with`` calls ``__enter__`` and
``__exit__``, ``raise E`` instantiates ``E``, and ``map``/``filter``/``key=`` call their callbacks:
those implicit call sites are marked (:data:`IMPLICIT`, :data:`DUNDER`, :data:`RAISE`).

One walk over the tree collects the facts. Its statements and bindings are in
:mod:`.pyfacts_statements`, its expressions and call sites in :mod:`.pyfacts_expressions`, and what
both share (the encoding's flags, the lists the walk fills) in :mod:`.pyfacts_base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mnemo_dagster.graph.pyfacts_base import BIND, DUNDER, FACTS_VERSION, IMPLICIT, KEYS, RAISE, literal_key
from mnemo_dagster.graph.pyfacts_expressions import ExpressionFacts
from mnemo_dagster.graph.pyfacts_statements import StatementFacts

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["BIND", "DUNDER", "FACTS_VERSION", "IMPLICIT", "KEYS", "RAISE", "literal_key", "python_facts"]


class _Extractor(StatementFacts, ExpressionFacts):
    """Walks a tree once, collecting scopes, assignments, call sites, returns and yields."""


def python_facts(root: Node) -> dict[str, Any]:
    """The flow facts of a parsed Python module (see the module docstring for the encoding)."""
    extractor = _Extractor()
    extractor.body(root, "")
    return {
        "v": FACTS_VERSION,
        "scopes": extractor.scopes,
        "assign": extractor.assigns,
        "calls": extractor.calls,
        "returns": extractor.returns,
        "yields": extractor.yields,
        "generators": sorted(extractor.generators),
        "lambdas": extractor.lambdas,
    }
