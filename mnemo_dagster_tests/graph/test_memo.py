"""The memo behind graph resolution: answers independent of the order of questions, with their reads."""

from __future__ import annotations

from itertools import permutations

from mnemo_dagster.graph.memo import Memo

# f = g | {"A"}, g = f | h, h = {"H"}: f and g are a cycle. A memo that caches g while f is still in
# progress answers g = {"H"} when f is asked first, and g = {"A", "H"} when g is.
EQUATIONS = {"f": (["g"], {"A"}), "g": (["f", "h"], set()), "h": ([], {"H"})}


def _solve(memo: Memo, name: str) -> frozenset[str]:
    def compute() -> frozenset[str]:
        memo.read(f"file:{name}")
        refs, own = EQUATIONS[name]
        found = set(own)
        for ref in refs:
            found |= _solve(memo, ref)
        return frozenset(found)

    return memo.lookup(name, compute, frozenset())


def _answers(order: tuple[str, ...]) -> dict[str, frozenset[str]]:
    memo = Memo()
    return {name: memo.query(lambda name=name: _solve(memo, name))[0] for name in order}


def test_answers_do_not_depend_on_the_order_of_questions() -> None:
    orders = list(permutations(EQUATIONS))
    first = _answers(orders[0])
    assert first == {"f": {"A", "H"}, "g": {"A", "H"}, "h": {"H"}}
    for order in orders[1:]:
        assert _answers(order) == first, order


def test_a_query_reads_what_its_cached_answers_read() -> None:
    memo = Memo()
    assert memo.query(lambda: _solve(memo, "h")) == ({"H"}, {"file:h"})
    # f reads g, which reads f and h (h answered from the cache): all three files count.
    assert memo.query(lambda: _solve(memo, "f"))[1] == {"file:f", "file:g", "file:h"}
    assert memo.query(lambda: _solve(memo, "f"))[1] == {"file:f", "file:g", "file:h"}
