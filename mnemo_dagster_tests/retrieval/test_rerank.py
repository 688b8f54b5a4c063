"""How a symbol query's places are ordered once scored (:func:`mnemo_dagster.retrieval.index.choose`):
one hit per definition, a base named like the definitions next to them, and what the module level
holds before a class's members. Pure: candidates are built here, no database, no model."""

from __future__ import annotations

from mnemo_dagster.retrieval.index import Ranking, choose
from mnemo_dagster.store.search import ChunkHit


def _chunk(
    i: int, path: str, name: str | None, similarity: float, content: str, kind: str = "interface"
) -> ChunkHit:
    qualified = f"{path}::{name}" if name else path
    return ChunkHit(
        i, "repo", qualified, name and name.rsplit(".", 1)[-1], path, 10 * i, 10 * i + 5, kind,
        "typescript", similarity, 0.0, content,
    )  # fmt: skip


def _ranked(candidates: list[ChunkHit], exact: set[int], query: str) -> list[tuple[str, bool]]:
    found = choose({c.id: c for c in candidates}, dict.fromkeys(exact, 2), query, 10, Ranking())
    scores = [place.score for place, _ in found]
    assert scores == sorted(scores, reverse=True)
    return [(place.chunk.qualified_name, is_exact) for place, is_exact in found]


def test_a_name_declared_twice_in_a_file_is_one_hit_and_its_base_follows_the_first_definition() -> None:
    base = "export interface ZodType<O>\n  extends core.$ZodType<O> {"
    candidates = [
        _chunk(1, "v3/types.ts", "ZodType", 0.8, "export abstract class ZodType<Output> {", "class"),
        _chunk(2, "classic/schemas.ts", "ZodType", 0.7, base),
        _chunk(3, "classic/schemas.ts", None, 0.6, "export const ZodType = core.$constructor(", "module"),
        _chunk(4, "core/schemas.ts", "$ZodType", 0.6, "export interface $ZodType<O> {\n  _zod: O;\n}"),
        _chunk(5, "core/other.ts", "$ZodString", 0.5, "export interface $ZodString {"),
    ]  # fmt: skip

    assert _ranked(candidates, {1, 2, 3}, "ZodType") == [
        ("v3/types.ts::ZodType", True),
        ("core/schemas.ts::$ZodType", False),
        ("classic/schemas.ts::ZodType", True),
        ("core/other.ts::$ZodString", False),
    ]


def test_a_bare_name_finds_the_module_level_and_the_file_named_for_it_before_a_method() -> None:
    candidates = [
        _chunk(1, "ctx.py", "RequestContext.session", 0.9, "@property\ndef session(self):", "method"),
        _chunk(2, "globals.py", None, 0.3, "session: SessionMixin = LocalProxy(...)", "module"),
        _chunk(3, "sessions.py", "SessionInterface.is_null_session", 0.5, "def is_null_session(", "method"),
        _chunk(4, "helpers.py", "flash", 0.6, "def flash(message):", "function"),
    ]  # fmt: skip

    assert _ranked(candidates, {1, 2}, "session") == [
        ("globals.py", True),
        ("sessions.py::SessionInterface.is_null_session", False),
        ("ctx.py::RequestContext.session", True),
        ("helpers.py::flash", False),
    ]
    # Asked through its class, the method is the definition.
    assert _ranked(candidates, {1}, "RequestContext.session")[0] == ("ctx.py::RequestContext.session", True)
