"""AST-aware chunking, symbols and references, over one real fixture per language."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from mnemo_dagster.errors import DecodeError
from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import LANGUAGES
from mnemo_dagster.extract.parsing import parse
from mnemo_dagster.models import ParsedFile

FIXTURES = Path(__file__).parents[1] / "fixtures" / "languages"


@dataclass(frozen=True)
class Expected:
    """What a fixture must yield with ``max_chunk_chars=600``."""

    file: str
    chunks: list[tuple[str, str | None, int, int]]
    """(kind, symbol_path, start_line, end_line), all of them, in order."""
    symbols: list[tuple[str, str, int, int]]
    """(path, kind, start_line, end_line), all of them, in order."""
    calls: set[tuple[str, str, int]]
    """(name, source, line): all calls (a name called twice on one line counts once)."""
    imports: set[tuple[str | None, str, str | None]]
    """(module, name, alias): all imports."""
    inherits: set[tuple[str, str]]
    """(name, source): all base classes."""


EXPECTED = {
    "python": Expected(
        "python/user_service.py",
        chunks=[
            ("module", None, 1, 12),
            ("class", "ValidationError", 15, 16),
            ("class", "UserService", 19, 25),  # the comment and the decorator are part of it
            ("method", "UserService.validate", 27, 31),
            ("method", "UserService.path", 33, 35),  # with its @property
            ("method", "UserService.save", 37, 41),
            ("function", "make_service", 44, 50),
            ("module", None, 53, 54),
        ],
        symbols=[
            ("ValidationError", "class", 15, 16),
            ("UserService", "class", 20, 41),
            ("UserService.validate", "method", 27, 31),
            ("UserService.path", "method", 33, 35),
            ("UserService.save", "method", 37, 41),
            ("make_service", "function", 44, 50),
            ("make_service.default_role", "function", 45, 46),
        ],
        calls={
            ("getLogger", "", 11),
            ("ValidationError", "UserService.validate", 29),
            ("len", "UserService.validate", 30),
            ("ValidationError", "UserService.validate", 31),
            ("join", "UserService.path", 35),
            ("validate", "UserService.save", 38),  # self.validate(user)
            ("put", "UserService.save", 39),
            ("info", "UserService.save", 40),
            ("UserRole", "make_service.default_role", 46),
            ("UserService", "make_service", 48),
            ("default_role", "make_service", 49),
            ("make_service", "", 54),  # make_service({}).save(User("ada"))
            ("save", "", 54),
            ("User", "", 54),
        },
        imports={
            ("logging", "logging", None),
            ("os.path", "os.path", "osp"),
            ("dataclasses", "dataclass", None),
            (".models", "User", None),
            (".models", "Role", "UserRole"),
            ("..storage", "*", None),
        },
        inherits={
            ("ValueError", "ValidationError"),
            ("BaseService", "UserService"),
            ("Auditable", "UserService"),
        },
    ),
    "javascript": Expected(
        "javascript/user_service.js",
        chunks=[
            ("module", None, 1, 7),
            ("class", "UserService", 9, 31),  # JSDoc and export included
            ("class", "ValidationError", 33, 33),
            ("function", "hashName", 35, 35),
            ("function", "loadUsers", 37, 40),
            ("module", None, 42, 42),
        ],
        symbols=[
            ("UserService", "class", 12, 31),
            ("UserService.constructor", "method", 13, 16),
            ("UserService.validate", "method", 18, 23),
            ("UserService.save", "method", 25, 30),
            ("ValidationError", "class", 33, 33),
            ("hashName", "function", 35, 35),
            ("loadUsers", "function", 37, 40),
        ],
        calls={
            ("ValidationError", "UserService.validate", 20),  # new ValidationError(...)
            ("validate", "UserService.save", 26),
            ("post", "UserService.save", 27),
            ("emit", "UserService.save", 28),
            ("createHash", "hashName", 35),  # createHash(...).update(format.trim(name)).digest("hex")
            ("update", "hashName", 35),
            ("trim", "hashName", 35),
            ("digest", "hashName", 35),
            ("fetchJson", "loadUsers", 38),
            ("map", "loadUsers", 39),
            ("validate", "loadUsers", 39),
        },
        imports={
            ("events", "default", "EventEmitter"),
            ("./http.js", "fetchJson", None),
            ("./http.js", "postJson", "post"),
            ("../lib/format", "*", "format"),
            ("crypto", "createHash", None),  # const { createHash } = require("crypto")
            ("./legacy.js", "UserService", "Service"),  # export ... from
        },
        inherits={("EventEmitter", "UserService"), ("Error", "ValidationError")},
    ),
    "typescript": Expected(
        "typescript/user_service.ts",
        chunks=[
            ("module", None, 1, 4),
            ("interface", "Validator", 6, 9),
            ("interface", "UserId", 11, 11),  # type aliases chunk as interfaces
            ("class", "Status", 13, 16),  # enums chunk as classes
            ("class", "BaseService", 18, 20),
            ("class", "UserService", 22, 46),
            ("function", "fetchUser", 48, 51),
            ("function", "isAdmin", 53, 55),
        ],
        symbols=[
            ("Validator", "interface", 7, 9),
            ("UserId", "type", 11, 11),
            ("Status", "enum", 13, 16),
            ("BaseService", "class", 18, 20),
            ("UserService", "class", 23, 46),
            ("UserService.constructor", "method", 26, 29),
            ("UserService.name", "method", 31, 33),
            ("UserService.validate", "method", 35, 37),
            ("UserService.save", "method", 39, 45),
            ("fetchUser", "function", 48, 51),
            ("isAdmin", "function", 53, 55),
        ],
        calls={
            ("validate", "UserService.save", 40),
            ("Error", "UserService.save", 41),
            ("info", "UserService.save", 43),
            ("put", "UserService.save", 44),
        },
        imports={
            ("./models", "User", None),
            ("./models", "Role", None),
            ("@/storage/repository", "Repository", "Repo"),
            ("./log", "*", "log"),
            ("axios", "default", "axios"),
        },
        inherits={
            ("Checker", "Validator"),
            ("BaseService", "UserService"),
            ("Validator", "UserService"),  # implements
        },
    ),
    "tsx": Expected(
        "tsx/user_card.tsx",
        chunks=[
            ("module", None, 1, 3),
            ("interface", "UserCardProps", 5, 8),
            ("function", "UserCard", 10, 22),
            ("function", "Avatar", 24, 24),
            ("function", "formatName", 26, 28),
            ("class", "UserList", 30, 34),
            ("module", None, 36, 36),
        ],
        symbols=[
            ("UserCardProps", "interface", 5, 8),
            ("UserCard", "function", 10, 22),
            ("UserCard.load", "function", 12, 12),
            ("Avatar", "function", 24, 24),
            ("formatName", "function", 26, 28),
            ("UserList", "class", 30, 34),
            ("UserList.render", "method", 31, 33),
        ],
        calls={
            ("useState", "UserCard", 11),
            ("fetchUser", "UserCard.load", 12),
            ("then", "UserCard.load", 12),
            ("onSelect", "UserCard", 17),  # onSelect?.(user)
            ("Avatar", "UserCard", 18),  # a JSX component
            ("formatName", "UserCard", 19),
            ("avatarUrl", "Avatar", 24),
            ("trim", "formatName", 27),
            ("toUpperCase", "formatName", 27),
            ("map", "UserList.render", 32),
            ("UserCard", "UserList.render", 32),
        },
        imports={
            ("react", "default", "React"),
            ("react", "useState", None),
            ("../services/user_service", "fetchUser", None),
            ("../models", "User", None),
        },
        inherits={("Component", "UserList")},
    ),
    "go": Expected(
        "go/user_service.go",
        chunks=[
            ("module", None, 1, 11),
            ("interface", "Validator", 13, 16),
            ("class", "UserService", 18, 22),
            ("interface", "UserID", 24, 24),
            ("method", "UserService.Validate", 26, 32),
            ("method", "UserService.Save", 34, 39),
            ("function", "NewService", 41, 43),
        ],
        symbols=[
            ("Validator", "interface", 14, 16),
            ("UserService", "class", 19, 22),
            ("UserID", "type", 24, 24),
            ("UserService.Validate", "method", 27, 32),
            ("UserService.Save", "method", 34, 39),
            ("NewService", "function", 41, 43),
        ],
        calls={
            ("New", "UserService.Validate", 29),
            ("Validate", "UserService.Save", 35),
            ("Errorf", "UserService.Save", 36),
            ("Put", "UserService.Save", 38),
        },
        imports={
            ("errors", "errors", None),
            ("fmt", "fmt", None),
            ("example.com/app/storage", "example.com/app/storage", "store"),
        },
        inherits={("Base", "UserService")},  # an embedded struct
    ),
    "rust": Expected(
        "rust/user_service.rs",
        chunks=[
            ("module", None, 1, 2),
            ("interface", "Validator", 4, 7),
            ("class", "UserService", 9, 13),  # doc comment and #[derive] included
            ("block", "UserService", 15, 25),  # impl UserService
            ("block", "UserService", 27, 34),  # impl Validator for UserService
            ("function", "default_role", 36, 38),
        ],
        symbols=[
            ("Validator", "interface", 5, 7),
            ("UserService", "class", 11, 13),
            ("UserService.new", "method", 16, 18),
            ("UserService.save", "method", 20, 24),
            ("UserService.validate", "method", 28, 33),
            ("default_role", "function", 36, 38),
        ],
        calls={
            ("UserService", "UserService.new", 17),  # a struct literal builds one, like a call
            ("new", "UserService.new", 17),
            ("validate", "UserService.save", 21),
            ("insert", "UserService.save", 22),
            ("Ok", "UserService.save", 23),
            ("is_empty", "UserService.validate", 29),
            ("Err", "UserService.validate", 30),  # format! is a macro, not a call
            ("Ok", "UserService.validate", 32),
            ("member", "default_role", 37),
        },
        imports={
            ("std::collections::HashMap", "HashMap", None),
            ("crate::models::User", "User", None),
            ("crate::models::Role", "Role", "UserRole"),
        },
        inherits={("Send", "Validator"), ("Validator", "UserService")},
    ),
    "java": Expected(
        "java/UserService.java",
        chunks=[
            ("module", None, 1, 5),
            ("class", "UserService", 7, 9),  # too big at 600 chars: header, then members
            ("method", "UserService.UserService", 11, 13),
            ("method", "UserService.validate", 15, 18),  # @Override included
            ("method", "UserService.save", 20, 25),
            ("class", "UserService.Role", 27, 28),
            ("interface", "UserService.Listener", 30, 33),  # the class's closing brace joins it
        ],
        symbols=[
            ("UserService", "class", 8, 33),
            ("UserService.UserService", "method", 11, 13),
            ("UserService.validate", "method", 15, 18),
            ("UserService.save", "method", 20, 25),
            ("UserService.Role", "enum", 28, 28),
            ("UserService.Listener", "interface", 30, 32),
            ("UserService.Listener.saved", "method", 31, 31),
        ],
        calls={
            ("HashMap", "UserService", 9),
            ("getName", "UserService.validate", 17),
            ("isEmpty", "UserService.validate", 17),
            ("validate", "UserService.save", 21),
            ("IllegalArgumentException", "UserService.save", 22),
            ("getId", "UserService.save", 24),
            ("put", "UserService.save", 24),
        },
        imports={
            ("java.util.HashMap", "HashMap", None),
            ("java.util.Map", "Map", None),
            ("com.example.models", "*", None),
        },
        inherits={
            ("BaseService", "UserService"),
            ("Validator", "UserService"),
            ("EventListener", "UserService.Listener"),
        },
    ),
}


def assert_well_formed(parsed: ParsedFile, text: str, max_chunk_chars: int) -> None:
    """Every chunk is its exact lines, not blank, within bounds, and no two chunks overlap."""
    lines = text.splitlines()
    previous_end = 0
    for chunk in parsed.chunks:
        assert chunk.content.strip(), chunk
        assert chunk.start_line >= 1, chunk
        assert chunk.start_line <= chunk.end_line <= len(lines), chunk
        assert len(chunk.content) <= max_chunk_chars, chunk
        if chunk.start_line == chunk.end_line and len(lines[chunk.start_line - 1]) > max_chunk_chars:
            assert chunk.content in lines[chunk.start_line - 1]  # a slice of an over-long line
            previous_end = chunk.start_line - 1
        else:
            assert chunk.content == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        assert chunk.start_line > previous_end, f"{chunk} overlaps the chunk before it"
        previous_end = chunk.end_line


def test_every_query_language_has_a_fixture() -> None:
    # The languages added later have fixture folders checked in test_languages_many.py.
    assert set(EXPECTED) <= {spec.name for spec in LANGUAGES if spec.has_queries}


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_language_fixture(language: str) -> None:
    expected = EXPECTED[language]
    data = (FIXTURES / expected.file).read_bytes()
    text = data.decode()
    parsed = parse_file(expected.file, data, language, max_chunk_chars=600)

    assert parsed.path == expected.file
    assert parsed.language == language
    assert parsed.warnings == ()
    assert_well_formed(parsed, text, 600)
    assert [(c.kind, c.symbol_path, c.start_line, c.end_line) for c in parsed.chunks] == expected.chunks
    for chunk in parsed.chunks:
        expected_name = chunk.symbol_path.rsplit(".", 1)[-1] if chunk.symbol_path else None
        assert chunk.name == expected_name
    # Every non-blank line is in some chunk.
    covered = {line for c in parsed.chunks for line in range(c.start_line, c.end_line + 1)}
    assert {i for i, line in enumerate(text.splitlines(), 1) if line.strip()} <= covered

    assert [(s.path, s.kind, s.start_line, s.end_line) for s in parsed.symbols] == expected.symbols
    assert all(s.name == s.path.rsplit(".", 1)[-1] for s in parsed.symbols)

    calls = {(r.name, r.source, r.line) for r in parsed.references if r.kind == "calls"}
    assert calls == expected.calls, (expected.calls - calls, calls - expected.calls)
    assert all(r.module is None and r.alias is None for r in parsed.references if r.kind != "imports")
    imports = {(r.module, r.name, r.alias) for r in parsed.references if r.kind == "imports"}
    assert imports == expected.imports
    inherits = {(r.name, r.source) for r in parsed.references if r.kind == "inherits"}
    assert inherits == expected.inherits
    assert [r.line for r in parsed.references] == sorted(r.line for r in parsed.references)


# --------------------------------------------------------------------------------------------------
# Size bounds


def test_big_function_is_split_into_line_windows_that_keep_its_name() -> None:
    body = "".join(f"    total += compute_value_{i}(items, offset={i})\n" for i in range(120))
    source = f"import os\n\n\ndef accumulate(items):\n    total = 0\n{body}    return total\n"
    parsed = parse_file("big.py", source.encode(), "python", max_chunk_chars=1500)

    assert_well_formed(parsed, source, 1500)
    assert parsed.chunks[0].kind == "module" and parsed.chunks[0].content == "import os"
    windows = parsed.chunks[1:]
    assert len(windows) == 4  # about 5.7k characters at most 1500 each
    assert {(c.kind, c.name, c.symbol_path) for c in windows} == {("function", "accumulate", "accumulate")}
    assert windows[0].start_line == 4 and windows[0].content.startswith("def accumulate(items):")
    assert windows[-1].end_line == 126 and windows[-1].content.endswith("return total")
    for before, after in itertools.pairwise(windows):
        assert after.start_line == before.end_line + 1  # consecutive, nothing lost
    assert [(s.path, s.start_line, s.end_line) for s in parsed.symbols] == [("accumulate", 4, 126)]


def test_big_class_splits_into_header_and_methods_and_small_class_stays_whole() -> None:
    data = (FIXTURES / "python/user_service.py").read_bytes()
    whole = parse_file("u.py", data, "python", max_chunk_chars=1500)
    assert [(c.kind, c.name, c.start_line, c.end_line) for c in whole.chunks] == [
        ("module", None, 1, 12),
        ("class", "ValidationError", 15, 16),
        ("class", "UserService", 19, 41),  # whole: no method chunks
        ("function", "make_service", 44, 50),
        ("module", None, 53, 54),
    ]

    split = parse_file("u.py", data, "python", max_chunk_chars=300)
    assert_well_formed(split, data.decode(), 300)
    by_path = [(c.kind, c.symbol_path, c.start_line, c.end_line) for c in split.chunks if c.symbol_path]
    assert by_path == [
        ("class", "ValidationError", 15, 16),
        ("class", "UserService", 19, 25),
        ("method", "UserService.validate", 27, 31),
        ("method", "UserService.path", 33, 35),
        ("method", "UserService.save", 37, 41),
        ("function", "make_service", 44, 50),
    ]


def test_tiny_module_pieces_are_merged_and_long_module_code_is_windowed() -> None:
    imports = "".join(f"import module_{i}\n\n" for i in range(8))
    parsed = parse_file("m.py", imports.encode(), "python", max_chunk_chars=1500, min_chunk_chars=200)
    assert [(c.kind, c.start_line, c.end_line) for c in parsed.chunks] == [("module", 1, 15)]

    constants = "".join(f"SETTING_{i} = {{'name': 'setting-{i}', 'enabled': True}}\n\n" for i in range(60))
    parsed = parse_file("c.py", constants.encode(), "python", max_chunk_chars=500, min_chunk_chars=200)
    assert_well_formed(parsed, constants, 500)
    # SETTING_i sits on line 2i + 1 and is 50 characters long (52 from i = 10): nine settings and
    # the blank lines between them fill a window (466, 482, then 484 characters; a tenth would pass
    # 500), and the last six (322 characters) are enough for a window of their own.
    assert [(c.kind, c.name, c.start_line, c.end_line, len(c.content)) for c in parsed.chunks] == [
        ("module", None, 1, 17, 466),
        ("module", None, 19, 35, 482),
        ("module", None, 37, 53, 484),
        ("module", None, 55, 71, 484),
        ("module", None, 73, 89, 484),
        ("module", None, 91, 107, 484),
        ("module", None, 109, 119, 322),
    ]


def test_closing_brace_joins_the_last_method_of_a_split_class() -> None:
    method = "  method{0}(value) {{\n    return this.helper{0}(value) + {0};\n  }}\n\n"
    methods = "".join(method.format(i) for i in range(12))
    source = f"class Big {{\n  constructor() {{ this.x = 1; }}\n\n{methods}}}\n"
    parsed = parse_file("big.js", source.encode(), "javascript", max_chunk_chars=400)
    assert_well_formed(parsed, source, 400)
    assert parsed.chunks[0].kind == "class" and parsed.chunks[0].content == "class Big {"
    assert parsed.chunks[1].symbol_path == "Big.constructor"
    last = parsed.chunks[-1]
    assert last.symbol_path == "Big.method11" and last.content.endswith("  }\n\n}")


# --------------------------------------------------------------------------------------------------
# Wrappers, decorators, exports


def test_decorators_and_exports_belong_to_what_they_wrap() -> None:
    source = b"@app.route('/users')\n@login_required\ndef users():\n    return list_users()\n"
    parsed = parse_file("views.py", source, "python")
    assert [(c.kind, c.name, c.start_line, c.end_line) for c in parsed.chunks] == [
        ("function", "users", 1, 4)
    ]
    assert [(s.path, s.start_line) for s in parsed.symbols] == [("users", 1)]

    ts = b"export default class Store {}\nexport const make = () => new Store();\nexport function f() {}\n"
    parsed = parse_file("store.ts", ts, "typescript")
    assert [(c.name, c.content) for c in parsed.chunks] == [
        ("Store", "export default class Store {}"),
        ("make", "export const make = () => new Store();"),
        ("f", "export function f() {}"),
    ]
    assert ("calls", "Store", "make") in [(r.kind, r.name, r.source) for r in parsed.references]


def test_commonjs_and_dynamic_imports() -> None:
    source = b'const fs = require("fs");\nconst { join, resolve: r } = require("path");\nrequire("./side");\n'
    source += b'async function load() { return import("./lazy.js"); }\nexport * from "./all";\n'
    parsed = parse_file("a.js", source, "javascript")
    imports = [
        (r.module, r.name, r.alias, r.source, r.line) for r in parsed.references if r.kind == "imports"
    ]
    assert imports == [
        ("fs", "*", "fs", "", 1),
        ("path", "join", None, "", 2),
        ("path", "resolve", "r", "", 2),
        ("./side", "*", None, "", 3),
        ("./lazy.js", "*", None, "load", 4),
        ("./all", "*", None, "", 5),
    ]
    assert not any(r.kind == "calls" and r.name == "require" for r in parsed.references)


# --------------------------------------------------------------------------------------------------
# Errors and odd inputs


def test_syntax_errors_are_recovered_with_a_warning() -> None:
    source = (
        b"def ok():\n    return 1\n\n\n"
        b"def broken(:\n    return 2\n\n\n"
        b"class Fine:\n    def m(self):\n        return ok()\n"
    )
    parsed = parse_file("bad.py", source, "python")
    assert parsed.warnings == ("syntax error near line 5 (1 error regions); indexed with error recovery",)
    assert [(s.path, s.kind, s.start_line, s.end_line) for s in parsed.symbols] == [
        ("ok", "function", 1, 2),
        ("broken", "function", 5, 6),  # recovered around the bad parameter list
        ("Fine", "class", 9, 11),
        ("Fine.m", "method", 10, 11),
    ]
    assert [(c.kind, c.symbol_path, c.start_line, c.end_line) for c in parsed.chunks] == [
        ("function", "ok", 1, 2),
        ("function", "broken", 5, 6),
        ("class", "Fine", 9, 11),
    ]
    assert [(r.kind, r.name, r.source, r.line) for r in parsed.references] == [("calls", "ok", "Fine.m", 11)]
    assert_well_formed(parsed, source.decode(), 1500)


def test_a_trailing_comma_in_an_annotations_subscript_is_no_syntax_error() -> None:
    # As black formats FastAPI's and Pydantic's long annotations; tree-sitter-languages' Python grammar
    # rejects the comma before the ``]`` of an annotation.
    source = (
        b"class Credentials:\n"
        b"    scheme: Annotated[\n"
        b"        str,\n"
        b'        Doc("The scheme, [as in] the header, ]"),\n'
        b"    ]\n"
        b"    pair = values[1,]\n"
        b"\n"
        b"    def check(self, token: Annotated[str, Depends(read),]) -> bool:\n"
        b"        return verify(token)\n"
    )
    assert parse(b"x: A[str, B(),]\n", "python").root_node.has_error  # the grammar's own verdict

    parsed = parse_file("security.py", source, "python")

    assert parsed.warnings == ()
    assert [(s.path, s.kind, s.start_line, s.end_line) for s in parsed.symbols] == [
        ("Credentials", "class", 1, 9),
        ("Credentials.check", "method", 8, 9),
    ]
    assert ("calls", "verify", "Credentials.check", 9) in [
        (r.kind, r.name, r.source, r.line) for r in parsed.references
    ]
    # The chunks are the file as it is, commas included.
    assert parsed.chunks[0].content == source.decode().rstrip("\n")
    assert_well_formed(parsed, source.decode(), 1500)


def test_a_file_that_is_mostly_errors_falls_back_to_line_windows() -> None:
    source = b"<<<<<<< HEAD\n}}} ))) ((( @@@ ;;; {{{\n" * 20
    parsed = parse_file("garbage.ts", source, "typescript")
    assert parsed.warnings == (
        "syntax error near line 1 (1 error regions, 100% of the file); indexed as line windows",
    )
    # 40 lines, 739 characters without the last newline: one window under 1500.
    assert [(c.kind, c.start_line, c.end_line) for c in parsed.chunks] == [("lines", 1, 40)]
    assert_well_formed(parsed, source.decode(), 1500)


def test_invalid_utf8_raises_decode_error_with_the_offset() -> None:
    with pytest.raises(DecodeError) as raised:
        parse_file("src/latin1.py", b"name = 'caf\xe9'\n", "python")
    assert raised.value.path == "src/latin1.py"
    assert raised.value.detail == "not valid UTF-8 (first bad byte at offset 11)"
    assert str(raised.value) == "src/latin1.py: not valid UTF-8 (first bad byte at offset 11)"


def test_bom_is_stripped_and_crlf_lines_count_once() -> None:
    source = "\ufeffimport os\r\n\r\ndef f():\r\n    return os.sep\r\n".encode()
    parsed = parse_file("win.py", source, "python")
    assert [(c.kind, c.start_line, c.end_line, c.content) for c in parsed.chunks] == [
        ("module", 1, 1, "import os"),
        ("function", 3, 4, "def f():\n    return os.sep"),
    ]
    assert [(s.path, s.start_line, s.end_line) for s in parsed.symbols] == [("f", 3, 4)]


@pytest.mark.parametrize("language", ["python", "markdown", "tsx"])
@pytest.mark.parametrize("source", [b"", b"\n\n  \n\t\n", b"\xef\xbb\xbf"])
def test_empty_and_blank_files_have_no_chunks(language: str, source: bytes) -> None:
    parsed = parse_file("empty", source, language)
    assert parsed == ParsedFile(path="empty", language=language, chunks=())


def test_unknown_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        parse_file("a.cob", b"x", "cobol")


def test_minified_single_line_is_cut_into_slices() -> None:
    line = "function f(a){return a+1}var x=f(2);" * 2000 + "class K extends L{m(){return this.q()}}"
    parsed = parse_file("app.min.js", line.encode(), "javascript", max_chunk_chars=1500)
    assert len(line) == 72_039
    assert len(parsed.chunks) == 49  # as few slices as 1500 characters each allow: ceil(72039 / 1500)
    assert all(c.start_line == c.end_line == 1 and len(c.content) <= 1500 for c in parsed.chunks)
    assert "".join(c.content for c in parsed.chunks) == line  # slices, in order, nothing lost
    # The 2000 definitions of f are one symbol: a redefinition keeps the first.
    assert [(s.path, s.kind, s.start_line) for s in parsed.symbols] == [
        ("f", "function", 1),
        ("K", "class", 1),
        ("K.m", "method", 1),
    ]


def test_five_megabyte_single_line_does_not_blow_up() -> None:
    blob = "A" * 5_000_000
    source = f'const data = "{blob}";\nfunction decode() {{ return atob(data); }}\n'.encode()
    parsed = parse_file("bundle.js", source, "javascript", max_chunk_chars=1500)
    # Line 1 is 5,000,016 characters: 3333 slices of 1500 and one of 516; then decode() (40).
    assert [len(c.content) for c in parsed.chunks] == [1500] * 3333 + [516, 40]
    assert parsed.chunks[-1].name == "decode" and parsed.chunks[-1].start_line == 2
    assert sum(len(c.content) for c in parsed.chunks if c.start_line == 1) == len(source.split(b"\n")[0])

    text = parse_file("dump.txt", b"x" * 5_000_000, "text", max_chunk_chars=1500)
    assert len(text.chunks) == 3334 and {c.kind for c in text.chunks} == {"lines"}


def test_line_windows_for_languages_without_queries_prefer_blank_lines() -> None:
    paragraphs = [f"## Section {i}\n\n" + "Some prose about the section. " * 8 for i in range(10)]
    source = "\n\n".join(paragraphs) + "\n"
    parsed = parse_file("README.md", source.encode(), "markdown", max_chunk_chars=700, min_chunk_chars=100)
    assert_well_formed(parsed, source, 700)
    assert all(c.kind == "lines" and c.name is None and c.symbol_path is None for c in parsed.chunks)
    # A section is 4 lines (heading, blank, 240 characters of prose, blank): two make 510 characters
    # and a third would pass 700, so every window holds two sections and ends before a blank line.
    assert [(c.start_line, c.end_line, c.content.split("\n", 1)[0]) for c in parsed.chunks] == [
        (1, 7, "## Section 0"),
        (9, 15, "## Section 2"),
        (17, 23, "## Section 4"),
        (25, 31, "## Section 6"),
        (33, 39, "## Section 8"),
    ]
    assert parsed.symbols == () and parsed.references == ()
