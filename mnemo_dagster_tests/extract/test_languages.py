"""The language registry: lookup order, coverage of the tree-sitter languages, query compilation."""

from __future__ import annotations

import pytest

from mnemo_dagster.extract.languages import LANGUAGES, language_for, language_named
from mnemo_dagster.extract.parsing import get_language, get_tags_query, parse

QUERY_LANGUAGES = (
    *("python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "c_sharp", "kotlin"),
    *("scala", "ruby", "php", "lua", "shell", "elixir", "haskell", "ocaml", "erlang", "perl", "r", "julia"),
    "objc",
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/app/user.py", "python"),
        ("stubs/user.pyi", "python"),
        ("web/app.js", "javascript"),
        ("web/app.mjs", "javascript"),
        ("web/app.cjs", "javascript"),
        ("web/App.jsx", "javascript"),
        ("src/user.ts", "typescript"),
        ("src/user.mts", "typescript"),
        ("types/index.d.ts", "typescript"),
        ("src/UserCard.tsx", "tsx"),
        ("cmd/main.go", "go"),
        ("src/lib.rs", "rust"),
        ("src/main/java/App.java", "java"),
        ("README.md", "markdown"),
        ("config/settings.yaml", "yaml"),
        ("pyproject.toml", "toml"),
        ("scripts/run.sh", "shell"),
        ("db/schema.sql", "sql"),
        ("src/engine.c", "c"),
        ("src/engine.cpp", "cpp"),
        ("src/Engine.C", "cpp"),  # upper-case .C is C++, not C
        ("LEGACY.PY", "python"),  # unknown case falls back to the lower-cased extension
        ("lib/task.rb", "ruby"),
    ],
)
def test_extension_lookup(path: str, expected: str) -> None:
    spec = language_for(path)
    assert spec is not None
    assert spec.name == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Dockerfile", "dockerfile"),
        ("deploy/Dockerfile", "dockerfile"),
        ("deploy/Dockerfile.prod", "dockerfile"),
        ("Makefile", "make"),
        ("GNUmakefile", "make"),
        ("CMakeLists.txt", "cmake"),  # the file name wins over ".txt"
        ("Cargo.lock", "toml"),
        ("go.mod", "gomod"),
        ("Rakefile", "ruby"),
    ],
)
def test_file_name_is_looked_up_before_extension(path: str, expected: str) -> None:
    spec = language_for(path)
    assert spec is not None
    assert spec.name == expected


@pytest.mark.parametrize("path", ["bin/tool", "image.png", "archive.tar.gz", ".gitignore", "notes."])
def test_unknown_files_have_no_language(path: str) -> None:
    assert language_for(path) is None


def test_registry_names_and_extensions_are_unique() -> None:
    names = [spec.name for spec in LANGUAGES]
    assert len(names) == len(set(names))
    extensions = [ext for spec in LANGUAGES for ext in spec.extensions]
    assert len(extensions) == len(set(extensions))


def test_query_languages_are_exactly_the_expected_ones() -> None:
    assert {spec.name for spec in LANGUAGES if spec.has_queries} == set(QUERY_LANGUAGES)
    assert not language_named("markdown").has_queries
    assert not language_named("json").has_queries


@pytest.mark.parametrize("spec", [s for s in LANGUAGES if s.grammar], ids=lambda s: s.name)
def test_every_named_grammar_is_bundled(spec) -> None:  # type: ignore[no-untyped-def]
    assert spec.grammar is not None
    assert get_language(spec.grammar) is not None


@pytest.mark.parametrize("name", QUERY_LANGUAGES)
def test_tags_query_compiles_once_per_process(name: str) -> None:
    query = get_tags_query(name)
    assert get_tags_query(name) is query
    tree = parse(b"\n", name)
    assert query.captures(tree.root_node) == []


LUA_FILE = b"local x = f(\"a\")\nprint('b')\nlocal t = [[long]]\n-- note\nreturn x\n"


@pytest.mark.parametrize(
    "unterminated",
    [b'x = "abc', b"x = 'abc", b"--[[ abc", b"x = [[abc", b"--[==[ x", b"x = [=[abc", b'x = "a\\\n'],
)
def test_lua_file_after_an_unterminated_string_parses_cleanly(unterminated: bytes) -> None:
    # The bundled Lua scanner keeps the string state a parse ends in; each parse must start clean.
    assert parse(unterminated, "lua").root_node.has_error
    assert not parse(LUA_FILE, "lua").root_node.has_error


def test_fresh_lua_parsers_parse_their_first_file_cleanly() -> None:
    # A new parser's Lua scanner state is uninitialised heap memory; vary the heap between parsers.
    from mnemo_dagster.extract import parsing

    ballast: list[bytes] = []
    for size in range(1, 120):
        ballast.append(bytes(size))
        parsing.get_parser.cache_clear()
        assert not parse(LUA_FILE, "lua").root_node.has_error
