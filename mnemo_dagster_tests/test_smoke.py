"""A quick check that an install works: the code location loads, tree-sitter parses, the model embeds.

CI runs these alone (``-m smoke``) on every other supported Python; the main run includes them.
No database and no Dagster run: a few seconds beyond importing torch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mnemo_dagster.models import ParsedFile, Symbol

pytestmark = pytest.mark.smoke

PYTHON_SOURCE = b'''\
import json


class Greeter:
    """Says hello."""

    def greet(self, name: str) -> str:
        return json.dumps({"hello": name})


def main() -> None:
    print(Greeter().greet("world"))
'''

TYPESCRIPT_SOURCE = b"""\
import { format } from "./format";

export interface Named {
  name: string;
}

export class Cart {
  total(items: number[]): string {
    return format(items.reduce((a, b) => a + b, 0));
  }
}
"""


def test_the_code_location_loads() -> None:
    from mnemo_dagster.defs.definitions import defs

    assert {key.to_user_string() for key in defs.resolve_all_asset_keys()} >= {
        "code_chunks",
        "graph_nodes",
        "graph_metrics",
    }
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"index_batches_job", "graph_job"}


def _symbols(path: str, source: bytes, language: str) -> tuple[ParsedFile, dict[str, Symbol]]:
    """``source`` parsed as ``language``, which must give chunks and no warnings; and its symbols by path."""
    from mnemo_dagster.extract.file import parse_file

    parsed = parse_file(path, source, language)
    assert parsed.language == language
    assert parsed.chunks, "no chunks"
    assert not parsed.warnings, parsed.warnings
    return parsed, {symbol.path: symbol for symbol in parsed.symbols}


def test_tree_sitter_parses_python() -> None:
    parsed, symbols = _symbols("pkg/greeter.py", PYTHON_SOURCE, "python")
    assert {"Greeter", "Greeter.greet", "main"} <= set(symbols)
    assert symbols["Greeter"].kind == "class"
    assert symbols["Greeter.greet"].kind == "method"
    assert (symbols["Greeter.greet"].start_line, symbols["Greeter.greet"].end_line) == (7, 8)
    # Every line of code is in some chunk (lines are 1-based and inclusive).
    covered = {line for chunk in parsed.chunks for line in range(chunk.start_line, chunk.end_line + 1)}
    assert {1, 4, 7, 8, 11, 12} <= covered


def test_tree_sitter_parses_typescript() -> None:
    _, symbols = _symbols("web/cart.ts", TYPESCRIPT_SOURCE, "typescript")
    assert {"Cart", "Cart.total"} <= set(symbols)
    assert symbols["Cart"].kind == "class"
    assert symbols["Cart.total"].kind == "method"


def test_the_packaged_model_embeds_offline() -> None:
    from mnemo_dagster.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    assert embedder.dimension == 384
    vectors = embedder.encode(["def retry_with_backoff(operation, attempts=3): ..."])
    assert vectors.shape == (1, 384)
    norm = math.sqrt(float((vectors[0].astype("float64") ** 2).sum()))
    assert norm == pytest.approx(1.0, abs=1e-3)
    assert all(math.isfinite(float(value)) for value in vectors[0])
