"""What a query is before it reaches the database: names and paths, path globs, signature lines, and
which words the lexical arm searches with on a large index."""

from __future__ import annotations

import re

import pytest

from mnemo_dagster.retrieval.query import MAX_QUERY_CHARS, bounded, glob_regex, name_like, signature
from mnemo_dagster.store.search import LEXICAL_SCAN_ROWS, WordStats, or_query, selective_words


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("parse_price", "parse_price"),
        ("  Checkout.place_order ", "Checkout.place_order"),
        ("shop/retry.py", "shop/retry.py"),
        ("src/app/user.ts::UserService.validate", "src/app/user.ts::UserService.validate"),
        ("retry with backoff", None),
        ("'; DROP TABLE x; --", None),
        ("...", None),
        ("", None),
        ("x" * 301, None),
    ],
)
def test_name_like(query: str, expected: str | None) -> None:
    assert name_like(query) == expected


@pytest.mark.parametrize(
    ("glob", "matches", "misses"),
    [
        ("*.py", ["a.py", "src/deep/b.py"], ["a.pyc", "a.ts"]),
        ("src/*.py", ["src/a.py"], ["src/app/a.py", "lib/src/a.py"]),
        ("src/**", ["src/a.py", "src/app/deep/b.ts"], ["lib/a.py"]),
        ("src/**/test_*.py", ["src/test_a.py", "src/x/y/test_b.py"], ["src/x/a_test.py"]),
        ("web/", ["web/cart.ts", "web/x/y.ts"], ["webby/a.ts"]),
        ("a?c.py", ["abc.py"], ["abbc.py", "a/c.py"]),
        ("[x]+(y).py", ["[x]+(y).py"], ["x.py"]),
    ],
)
def test_glob_regex(glob: str, matches: list[str], misses: list[str]) -> None:
    pattern = re.compile(glob_regex(glob))  # PostgreSQL's ~ agrees with Python on these constructs
    assert [p for p in matches if pattern.search(p)] == matches
    assert [p for p in misses if pattern.search(p)] == []


def test_signature_is_the_defining_line() -> None:
    assert signature("@cache\n@other(1)\ndef f(x):\n    return x") == "def f(x):"
    assert signature("\n\nimport os\nimport sys") == "import os"
    assert (
        signature("export async function load(url: string) {\n}")
        == "export async function load(url: string) {"
    )
    assert signature("pub fn run() -> i32 {") == "pub fn run() -> i32 {"
    assert signature("") == ""


def test_bounded_queries() -> None:
    assert bounded("  a\x00b  ") == "a b"
    assert len(bounded("y" * 10_000)) == MAX_QUERY_CHARS


def test_the_lexical_arm_searches_with_the_rarer_words_on_a_large_index() -> None:
    stats = WordStats(
        rows=150_000, shares={"use": 0.2, "user": 0.05, "tool": 0.004, "face": 0.001}, rare=0.002
    )
    # face (150 rows), gather (not among the common words: ~150) and tool (600) make 900 rows; user
    # would add 7,500.
    assert LEXICAL_SCAN_ROWS == 1000
    assert selective_words(["use", "user", "tool", "face", "gather"], stats) == ["face", "gather", "tool"]
    assert selective_words(["use", "user"], stats) == []  # each alone matches thousands: no lexical arm
    small = WordStats(rows=900, shares={"use": 0.9}, rare=0.01)
    assert selective_words(["use", "user"], small) == ["use", "user"]  # small index: every word
    assert or_query(["face", "gather", "bad'quote"]) == "'face' | 'gather'"
