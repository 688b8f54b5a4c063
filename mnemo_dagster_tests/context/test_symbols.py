"""A symbol up close, its references, related code and the index's freshness, over ``fixtures/graph_repo``
indexed for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnemo_dagster.context.freshness import index_status
from mnemo_dagster.context.symbols import (
    describe_symbol,
    docstring_of,
    find_references,
    related,
    signature_head,
)
from mnemo_dagster.errors import GraphQueryError, UnknownRepositoryError
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster_tests.cli.graph_repo import index_graph_repo

REPO = "ctxsymbols"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, mnemo_home: Path) -> str:
    return index_graph_repo(tmp_path_factory, REPO)


def test_a_symbol_comes_with_its_signature_docstring_body_and_container(
    indexed: str, default_store: IndexStore
) -> None:
    submit = describe_symbol(default_store, "app/orders.py::submit", indexed)
    assert (submit["file_path"], submit["start_line"], submit["end_line"]) == ("app/orders.py", 10, 13)
    assert submit["signature"] == "def submit(order):"
    assert submit["docstring"] == "Validate an order and charge it."
    assert submit["body"].splitlines()[-1] == "    return charge(order)"
    assert submit["body_truncated"] is False and submit["body_tokens"] > 0
    assert submit["container"]["qualified_name"] == "app/orders.py"
    module = describe_symbol(default_store, "app/orders.py", indexed, body_tokens=12)
    assert {c["qualified_name"] for c in module["children"]} == {
        "app/orders.py::validate",
        "app/orders.py::submit",
    }
    assert module["body_truncated"] is True and module["body"].endswith("…")
    assert module["body_tokens"] <= 12


def test_references_carry_the_line_that_refers(indexed: str, default_store: IndexStore) -> None:
    validate = find_references(default_store, "validate", indexed)
    assert [(r["qualified_name"], r["line"], r["text"]) for r in validate["callers"]] == [
        ("app/billing.py::charge", 11, "validate(order)"),
        ("app/orders.py::submit", 12, "validate(order)"),
    ]
    assert validate["totals"] == {"callers": 2, "importers": 0, "subclasses": 0}
    orders = find_references(default_store, "app/orders.py", indexed)
    assert [(r["qualified_name"], r["line"], r["text"]) for r in orders["importers"]] == [
        ("app/billing.py", 1, "from app.orders import validate"),
        ("app/main.py", 2, "from app.orders import submit"),
    ]
    assert len(find_references(default_store, "validate", indexed, limit=1)["callers"]) == 1


def test_related_code_is_ranked_by_stored_embeddings(indexed: str, default_store: IndexStore) -> None:
    answer = related(default_store, indexed, "app/billing.py", 11, limit=3)
    assert answer["at"]["qualified_name"] == "app/billing.py::charge"
    near = answer["related"]
    assert len(near) == 3 and "app/billing.py::charge" not in {c["qualified_name"] for c in near}
    assert [c["similarity"] for c in near] == sorted((c["similarity"] for c in near), reverse=True)
    with pytest.raises(GraphQueryError, match=r"no indexed chunk .* holds app/billing.py:999"):
        related(default_store, indexed, "app/billing.py", 999)


def test_the_status_says_current_then_stale_then_indexing(indexed: str, default_store: IndexStore) -> None:
    (status,) = index_status(default_store, indexed)["repositories"]
    assert (status["state"], status["pass_running"], status["files"]["indexed"]) == ("current", False, 8)
    assert status["changed_on_disk"] == {"checked": True, "changed": 0, "new": 0, "deleted": 0, "paths": []}

    root = Path(status["root_path"])
    (root / "app" / "jobs.py").write_text((root / "app" / "jobs.py").read_text() + "\n# edited\n")
    (root / "app" / "extra.py").write_text("def extra():\n    return 1\n")
    (stale,) = index_status(default_store, indexed)["repositories"]
    assert stale["state"] == "stale"
    assert stale["changed_on_disk"] == {
        "checked": True,
        "changed": 1,
        "new": 1,
        "deleted": 0,
        "paths": ["app/jobs.py", "app/extra.py"],
    }
    assert index_status(default_store, indexed, check_disk=False)["repositories"][0]["state"] == "current"

    with default_store.pass_lock(indexed) as taken:  # as `mnemo index` holds it for its pass
        assert taken
        (running,) = index_status(default_store, indexed, check_disk=False)["repositories"]
    assert (running["state"], running["pass_running"]) == ("indexing", True)
    with pytest.raises(UnknownRepositoryError, match="no repository named 'nope'"):
        index_status(default_store, "nope")


def test_a_long_signature_is_read_to_its_end_and_the_docstring_after_it() -> None:
    lines = [
        "def run(",
        "    root: Path,",
        "    *,",
        "    name: str | None = None,",
        "    limits: dict[str, int] = {},",
        ") -> Summary:",
        '    """Index ``root``.',
        "",
        '    More words."""',
        "    return go(root)",
    ]
    head = signature_head(lines)
    assert head.splitlines()[-1] == ") -> Summary:" and len(head.splitlines()) == 6
    assert docstring_of(lines[6:], []) == "Index ``root``.\n\nMore words."
    assert signature_head(["function go(a, b) {", "  return a + b;", "}"]) == "function go(a, b) {"
    assert docstring_of(["  return 1", "}"], ["// Add the two.", "// Fast."]) == "// Add the two.\n// Fast."
