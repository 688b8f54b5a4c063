"""The summary of one Python module that index time stores and :mod:`.pylink` reads.

JSON, with values encoded by :func:`_encode_all`:

- ``v``: :data:`SUMMARY_VERSION`; ``sites``: how many call sites the module writes (resolved or not);
- ``calls``: ``[scope, line, [value...]]`` per call site whose callee holds something, with a fourth
  item ``1`` for a call no call syntax writes (``__iter__`` of a ``for``, ``__enter__``, a callback of
  ``map``), which counts as a call site only where it resolves;
- ``names``: top-level name -> values (what other modules import);
- ``rets``: function -> what it returns (what a generator function yields); ``bases``: class -> its
  bases; ``fields``: class -> attribute -> what its methods assign to ``self.<attribute>``; ``stars``:
  modules imported with ``*``; ``lambdas``: lambda scope (``f.<lambda:12:8>``) -> [first, last line].

Containers and generators do not leave the module: a value that holds one holds its items instead.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mnemo_dagster.graph.pyflow import SUMMARY_VERSION, PythonFlow, flatten
from mnemo_dagster.graph.pyflow_state import HERE


def summarize(facts: dict[str, Any]) -> dict[str, Any]:
    """Solve one module's facts (:mod:`.pyfacts`) and keep what the graph needs."""
    flow = PythonFlow(facts)
    flow.solve()
    return summary(flow)


def summary(flow: PythonFlow) -> dict[str, Any]:
    """What the call sites reach and what other modules may look up, as compact JSON."""
    calls = []
    written = 0
    for index, (scope, line, *rest) in enumerate(flow.facts[HERE]["calls"]):
        implicit = len(rest) > 3
        written += not implicit
        reached = _encode_all(flow, flow.callees.get(index, ()))
        if reached:
            calls.append([scope, line, reached, 1] if implicit else [scope, line, reached])
    names = {
        n: v
        for n in sorted(flow.locals.get((HERE, ""), ()))
        if (v := _encode_all(flow, flow.vars.get((HERE, "", n), ())))
    }
    rets = {}
    for qualified in sorted(set(flow.rets) | flow.generators):
        values = flow.yields.get(qualified, ()) if qualified in flow.generators else flow.rets[qualified]
        if "<" not in qualified and (encoded := _encode_all(flow, values)):
            rets[qualified[2:]] = encoded
    bases: dict[str, list[Any]] = {}
    fields: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for qualified, info in sorted(flow.scope_info.items()):
        if info[0] == "class":
            values = {v for b in info[4] for v in flow.eval(info[5], info[1] or "", b)}
            if encoded := _encode_all(flow, values):
                bases[qualified[2:]] = encoded
    for (owner, attr), values in sorted(flow.fields.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        if isinstance(owner, str) and (encoded := _encode_all(flow, values)):
            fields[owner[2:]][attr] = encoded
    return {
        "v": SUMMARY_VERSION,
        "sites": written,
        "calls": calls,
        "names": names,
        "rets": rets,
        "bases": bases,
        "fields": dict(fields),
        "stars": list(flow.stars.get(HERE, ())),
        "lambdas": flow.facts[HERE].get("lambdas", {}),
    }


def _encode_all(flow: PythonFlow, values: Any) -> list[Any]:
    """Values as JSON, sorted: ``"A.m"`` (a definition of the module), ``["i", "A"]`` (an instance),
    ``["v", "A", "m"]`` (method ``m`` of an instance of ``A`` or of a subclass),
    ``["x", spec, name, step...]`` (something another module defines); containers and generators give
    what they hold, ``super()`` objects drop out."""
    if not values:
        return []
    encoded = []
    for value in flatten(flow, values):
        if isinstance(value, str):
            encoded.append(value[2:])
        elif value[0] in ("i", "I"):
            encoded.append(["i", value[1][2:]])
        elif value[0] == "v":
            encoded.append(["v", value[1][2:], *value[2:]])
        elif value[0] == "x":
            encoded.append(list(value))
    return sorted(encoded, key=str)
