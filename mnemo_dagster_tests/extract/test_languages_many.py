"""The languages beyond the first seven: registry, families, C's graph, module resolution, syntax errors.

The other per-language fixture graphs are in ``test_lang_compiled.py``,
``test_lang_scripting.py`` and ``test_lang_functional.py``; larger real-world-style files in
``test_lang_realworld.py``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from mnemo_dagster.extract import parsing
from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import LANGUAGES, language_for
from mnemo_dagster.graph import FileSymbols, build_graph
from mnemo_dagster.graph.modules import ModuleIndex, language_family
from mnemo_dagster.models import Reference
from mnemo_dagster_tests.extract.language_cases import Case, check_case

QUERY_LANGUAGES = {
    "python",
    "javascript",
    "typescript",
    "tsx",
    "go",
    "rust",
    "java",
    "c",
    "cpp",
    "c_sharp",
    "kotlin",
    "scala",
    "ruby",
    "php",
    "lua",
    "shell",
    "erlang",
    "elixir",
    "haskell",
    "ocaml",
    "objc",
    "perl",
    "r",
    "julia",
}

C_CASE = Case(
    "c",
    "c",
    chunks=[
        ("include/user.h", "class", "user_t"),
        ("include/user.h", "class", "role"),
        ("src/log.c", "function", "log_line"),
        ("src/user.c", "class", "store"),
        ("src/user.c", "function", "check_name"),
        ("src/user.c", "function", "user_validate"),
        ("src/user.c", "function", "user_save"),
    ],
    edges={
        ("contains", "include/user.h", "include/user.h::role"),
        ("contains", "include/user.h", "include/user.h::user_t"),
        ("contains", "src/log.c", "src/log.c::log_line"),
        ("imports", "src/log.c", "src/log.h"),
        ("imports", "src/user.c", "include/user.h"),
        ("imports", "src/user.c", "src/log.h"),
        ("contains", "src/user.c", "src/user.c::check_name"),
        ("contains", "src/user.c", "src/user.c::store"),
        ("contains", "src/user.c", "src/user.c::user_save"),
        ("contains", "src/user.c", "src/user.c::user_validate"),
        ("calls", "src/user.c::user_save", "src/log.c::log_line"),
        ("calls", "src/user.c::user_save", "src/user.c::user_validate"),
        ("calls", "src/user.c::user_validate", "src/user.c::check_name"),
    },
)


def test_twenty_four_languages_have_symbols_and_a_graph() -> None:
    assert {spec.name for spec in LANGUAGES if spec.has_queries} == QUERY_LANGUAGES
    assert len(QUERY_LANGUAGES) == 24


def test_every_query_language_has_a_fixture_folder_or_file() -> None:
    from mnemo_dagster_tests.extract import (
        test_chunking,
        test_lang_compiled,
        test_lang_functional,
        test_lang_scripting,
    )

    cases = [C_CASE, *test_lang_compiled.CASES, *test_lang_scripting.CASES, *test_lang_functional.CASES]
    assert {case.language for case in cases} | set(test_chunking.EXPECTED) == QUERY_LANGUAGES


def test_c_symbols_chunks_and_edges() -> None:
    check_case(C_CASE)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/shop_order.erl", "erlang"),
        ("include/shop.hrl", "erlang"),
        ("lib/order.ml", "ocaml"),
        ("lib/order.mli", "ocaml"),
        ("lib/Shop/Order.pm", "perl"),
        ("script/report.pl", "perl"),
        ("src/Shop.jl", "julia"),
        ("Sources/AppDelegate.m", "objc"),  # .m is Objective-C, not MATLAB
        ("Sources/Bridge.mm", "objc"),
        ("src/Main.elm", "elm"),
        ("lisp/init.el", "elisp"),
        ("src/package.lisp", "commonlisp"),
        ("src/util.cl", "commonlisp"),
        ("src/solver.f90", "fortran"),
        ("legacy/solver.f", "fortran"),
        ("legacy/SOLVER.FOR", "fortran"),
        ("src/Shop.hack", "hack"),
        ("app/Models/User.php", "php"),
        ("lib/shop/order.ex", "elixir"),
        ("test/order_test.exs", "elixir"),
        ("src/Main.hs", "haskell"),
        ("analysis/model.R", "r"),
        ("src/Program.cs", "c_sharp"),
        ("build.gradle.kts", "kotlin"),
        ("src/lib.hpp", "cpp"),
        ("scripts/deploy.bash", "shell"),
        ("game/player.lua", "lua"),
    ],
)
def test_extensions_of_grammars_are_recognised(path: str, expected: str) -> None:
    spec = language_for(path)
    assert spec is not None
    assert spec.name == expected


@pytest.mark.parametrize(
    ("languages", "family"),
    [
        (("c", "cpp", "objc"), "c"),
        (("java", "kotlin", "scala"), "jvm"),
        (("javascript", "typescript", "tsx"), "js"),
        (("c_sharp",), "c_sharp"),
        (("ruby",), "ruby"),
        (("php",), "php"),
        (("shell",), "shell"),
        (("elixir",), "elixir"),
        (("erlang",), "erlang"),
    ],
)
def test_language_families(languages: tuple[str, ...], family: str) -> None:
    assert {language_family(language) for language in languages} == {family}


def test_calls_never_resolve_into_another_family_by_name() -> None:
    files = [
        FileSymbols("app/worker.rb", "ruby", (), (Reference("calls", "perform", "", 3),)),
        FileSymbols("lib/jobs.ex", "elixir", (), (Reference("calls", "perform", "", 5),)),
        FileSymbols(
            "src/Job.kt",
            "kotlin",
            (),
            (Reference("calls", "perform", "", 7),),
        ),
        FileSymbols(
            "src/main/java/Job.java",
            "java",
            (),
            (),
        ),
    ]
    from mnemo_dagster.models import Symbol

    files[3] = FileSymbols(
        "src/main/java/Job.java", "java", (Symbol("perform", "Job.perform", "method", 2, 4),), ()
    )
    graph = build_graph(files)
    calls = {(e.source, e.target) for e in graph.edges if e.kind == "calls"}
    # Kotlin reaches the Java method (one JVM family); Ruby and Elixir do not.
    assert calls == {("src/Job.kt", "src/main/java/Job.java::Job.perform")}


def _index(files: dict[str, str]) -> ModuleIndex:
    index = ModuleIndex()
    for path in sorted(files):
        index.add(path, language_family(files[path]))
    return index


def test_c_includes_resolve_next_to_the_file_then_in_include_dirs() -> None:
    index = _index(
        {
            "include/shop/order.h": "c",
            "include/config.h": "c",
            "src/order.c": "c",
            "src/order.h": "c",
            "src/net/http.cpp": "cpp",
            "third_party/zlib/zlib.h": "c",
            "vendor/stdio.h": "c",
        }
    )
    assert index.resolve("order.h", "src/order.c") == "src/order.h"  # next to the file first
    assert index.resolve("shop/order.h", "src/order.c") == "include/shop/order.h"
    assert index.resolve("config.h", "src/net/http.cpp") == "include/config.h"  # include dir
    assert index.resolve("<shop/order.h>", "src/net/http.cpp") == "include/shop/order.h"
    assert index.resolve("../order.h", "src/net/http.cpp") == "src/order.h"
    assert index.resolve("zlib.h", "src/order.c") == "third_party/zlib/zlib.h"  # by suffix
    assert index.resolve("<stdio.h>", "src/order.c") is None  # a system header, not vendor/stdio.h
    assert index.resolve("<zlib.h>", "src/order.c") is None


def test_ruby_require_relative_and_load_path() -> None:
    index = _index(
        {
            "lib/billing/invoice.rb": "ruby",
            "lib/billing/service.rb": "ruby",
            "lib/billing.rb": "ruby",
            "app/models/user.rb": "ruby",
        }
    )
    assert index.resolve("./invoice", "lib/billing/service.rb") == "lib/billing/invoice.rb"
    assert index.resolve("../billing", "lib/billing/service.rb") == "lib/billing.rb"
    assert index.resolve("billing/invoice", "app/models/user.rb") == "lib/billing/invoice.rb"
    assert index.resolve("models/user", "lib/billing.rb") == "app/models/user.rb"
    assert index.resolve("json", "lib/billing.rb") is None


def test_php_namespaces_map_to_folders() -> None:
    index = _index(
        {
            "src/Models/User.php": "php",
            "src/Services/UserService.php": "php",
            "app/Http/Controllers/UserController.php": "php",
            "bootstrap.php": "php",
        }
    )
    importer = "app/Http/Controllers/UserController.php"
    assert index.resolve("App\\Models\\User", importer) == "src/Models/User.php"
    assert index.resolve("App\\Services\\UserService", importer) == "src/Services/UserService.php"
    assert index.resolve("Psr\\Log\\LoggerInterface", importer) is None
    assert index.resolve("../../../bootstrap.php", importer) == "bootstrap.php"


def test_c_sharp_using_names_a_namespace_folder_or_a_type() -> None:
    index = _index(
        {
            "src/Shop/Models/Order.cs": "c_sharp",
            "src/Shop/Models/User.cs": "c_sharp",
            "src/Shop/Services/UserService.cs": "c_sharp",
        }
    )
    importer = "src/Shop/Services/UserService.cs"
    # A namespace is a folder: the edge goes to its shortest file (an edge stands for the namespace).
    assert index.resolve("Shop.Models", importer) == "src/Shop/Models/User.cs"
    assert index.resolve("Shop.Models.User", importer) == "src/Shop/Models/User.cs"  # a type (alias)
    assert index.resolve("System.Collections.Generic", importer) is None


def test_kotlin_and_scala_imports_follow_packages() -> None:
    index = _index(
        {
            "app/src/main/kotlin/com/shop/model/Models.kt": "kotlin",
            "app/src/main/kotlin/com/shop/service/UserService.kt": "kotlin",
            "core/src/main/java/com/shop/core/Clock.java": "java",
            "core/src/main/scala/com/shop/pricing/Pricing.scala": "scala",
        }
    )
    importer = "app/src/main/kotlin/com/shop/service/UserService.kt"
    # A Kotlin file holding several classes: the package folder.
    assert index.resolve("com.shop.model.User", importer) == "app/src/main/kotlin/com/shop/model/Models.kt"
    assert index.resolve("com.shop.core.Clock", importer) == "core/src/main/java/com/shop/core/Clock.java"
    assert index.resolve("com.shop.pricing", importer) == "core/src/main/scala/com/shop/pricing/Pricing.scala"
    assert index.resolve("kotlinx.coroutines.launch", importer) is None


def test_script_and_module_languages_resolve_their_own_way() -> None:
    index = _index(
        {
            "bin/deploy.sh": "shell",
            "bin/lib/log.sh": "shell",
            "app/account.lua": "lua",
            "app/init.lua": "lua",
            "src/shop_log.erl": "erlang",
            "include/shop.hrl": "erlang",
            "lib/shop/order_service.ex": "elixir",
            "src/Shop/Order.hs": "haskell",
            "lib/order.ml": "ocaml",
        }
    )
    assert index.resolve('$(dirname "$0")/lib/log.sh', "bin/deploy.sh") == "bin/lib/log.sh"
    assert index.resolve("${BASH_SOURCE%/*}/lib/log.sh", "bin/deploy.sh") == "bin/lib/log.sh"
    assert index.resolve("$HOME/.bashrc", "bin/deploy.sh") is None
    assert index.resolve("app.account", "app/init.lua") == "app/account.lua"
    assert index.resolve("app", "app/account.lua") == "app/init.lua"
    assert index.resolve("shop_log", "include/shop.hrl") == "src/shop_log.erl"
    assert index.resolve("shop.hrl", "src/shop_log.erl") == "include/shop.hrl"
    assert index.resolve("Shop.OrderService", "lib/shop/order_service.ex") is None  # itself
    assert index.resolve("Shop.Order", "src/Shop/Order.hs") is None  # itself
    assert index.resolve("Order", "lib/order.ml") is None  # itself
    assert index.resolve("List", "lib/order.ml") is None


BROKEN = {
    "c": ("int ok(void) {\n  return 1;\n}\n\nint broken( {\n  return 2;\n}\n", 5, ["ok"]),
    "cpp": (
        "int ok() { return 1; }\n\nclass A {\n  void m() { ok(); }\n};\n\nint broken( { return 2; }\n",
        7,
        ["ok", "A", "A.m"],
    ),
    "c_sharp": ("class A {\n  void Ok() { }\n  void Broken( { }\n}\n", 3, ["A", "A.Ok"]),
    "kotlin": ("fun ok() = 1\n\nfun broken( = 2\n", 3, ["ok", "broken"]),
    "scala": ("object A {\n  def ok = 1\n  def broken( = 2\n}\n", 3, ["A", "A.ok"]),
    "ruby": ("def ok\n  1\nend\n\ndef broken(\n  2\nend\n", 5, ["ok", "broken"]),
    "php": ("<?php\nfunction ok() { return 1; }\n\nfunction broken( { return 2; }\n", 4, ["ok", "broken"]),
    "shell": ("ok() {\n  echo 1\n}\n\nbroken() {\n  if then\n}\n", 5, ["ok"]),
    "erlang": ("ok() -> 1.\n\nbroken( -> 2.\n", 3, ["ok", "broken"]),
    "elixir": ("defmodule A do\n  def ok, do: 1\n  def broken(, do: 2\nend\n", 3, ["A", "A.ok", "A.broken"]),
    "haskell": ("ok :: Int\nok = 1\n\nbroken = (2\n", 5, ["ok", "broken"]),
    "ocaml": ("let ok x = x + 1\n\nlet broken = (2\n", 3, ["ok"]),
    "objc": (
        "@implementation A\n- (void)ok { [self go]; }\n@end\n\nvoid broken( { }\n",
        5,
        ["A", "A.ok", "broken"],
    ),
    "perl": ("sub ok {\n  return 1;\n}\n\nsub broken {\n  my $x = (1;\n}\n", 6, ["ok", "broken"]),
    "r": ("ok <- function(x) {\n  x + 1\n}\n\nbroken <- function(x {\n  x\n}\n", 5, ["ok", "broken"]),
    "julia": ("function ok(x)\n  x + 1\nend\n\nbroken(x = (1\n", 5, ["ok"]),
    "lua": ("function ok()\n  return 1\nend\n\nlocal broken = (2\n", 5, ["ok"]),
}


@pytest.mark.parametrize("language", sorted(BROKEN))
def test_a_syntax_error_is_indexed_with_a_warning(language: str) -> None:
    source, line, symbols = BROKEN[language]
    parsed = parse_file("broken", source.encode(), language)
    assert parsed.warnings == (
        f"syntax error near line {line} (1 error regions); indexed with error recovery",
    )
    assert [s.path for s in parsed.symbols] == symbols
    assert parsed.chunks


def test_the_first_lua_file_of_a_process_parses_cleanly() -> None:
    # The bundled Lua scanner starts in a bad state: unwarmed, the first parse of a process turns a
    # call with a string argument on its first line into an error. Hence a fresh interpreter.
    code = (
        "from mnemo_dagster.extract.file import parse_file\n"
        "p = parse_file('a.lua', b'local json = require(\"json\")\\nreturn json\\n', 'lua')\n"
        "print(p.warnings, [(r.kind, r.module) for r in p.references])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "() [('imports', 'json')]"


def test_a_grammar_that_never_finishes_is_cut_off_and_the_file_indexed_as_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bundled Lua grammar can loop forever (on a lone identifier, from a bad scanner state); a
    # limit far below the time this long file takes stands in for that deterministically.
    monkeypatch.setattr(parsing, "PARSE_TIMEOUT_SECONDS", 0.001)
    parsing.get_parser.cache_clear()
    source = b"".join(b"local v%d = f(%d, 'x')\n" % (i, i) for i in range(100_000))
    try:
        parsed = parse_file("stuck.lua", source, "lua")
        assert parsed.warnings == ("the lua grammar gave up after 0.001 s; indexed as line windows",)
        assert {c.kind for c in parsed.chunks} == {"lines"}
        assert parsed.chunks[-1].end_line == 100_000
        # The parser was reset: the next parse is of the new source, not a resumption of the last one.
        assert parsing.parse(b"local y = 1\n", "lua").root_node.end_byte == len(b"local y = 1\n")
    finally:
        parsing.get_parser.cache_clear()


def test_a_scanner_that_does_not_reset_leaves_the_file_as_line_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parsing, "_RESET_PROBES", {"lua": b"local = = =\n"})  # never parses cleanly
    parsed = parse_file("app.lua", b"local x = 1\nreturn x\n", "lua")
    assert parsed.warnings == (
        "the lua grammar's scanner did not reset after 40 tries; indexed as line windows",
    )
    assert [(c.kind, c.start_line, c.end_line) for c in parsed.chunks] == [("lines", 1, 2)]
