"""Module specifier -> file for the languages beyond Python and JavaScript/TypeScript.

Each resolver takes the repository's :class:`~mnemo_dagster.graph.modules.ModuleIndex`, the
specifier as the import record holds it and the importing file, and returns a file of the
importer's language family or None (stdlib, third-party, or a name that matches no file):

- C/C++/Objective-C ``#include "x.h"``: next to the importer, then under the repository root and the
  usual include directories (``include/``, ``src/``, ``inc/``), then by path suffix (closest first).
  ``#include <x.h>`` skips the importer's directory, and a bare ``<name.h>`` never matches by suffix
  (it is nearly always a system header).
- Ruby ``require_relative "x"`` (recorded as ``./x``) is relative to the importer; ``require "a/b"``
  looks in ``lib/``, the root and ``app/``, then by suffix.
- PHP ``use App\\Models\\User``: PSR-4 style, the namespace prefix maps to any folder, so the path
  ``App/Models/User``, then ``Models/User``, then ``User`` (closest first); ``require "x.php"`` is a path.
- C# ``using A.B;`` names a namespace: a file ``A/B.cs`` or, by convention, the folder ``A/B`` or
  ``B`` (then the closest file in it: an edge stands for the namespace). ``using X = A.B.C;`` a type.
- JVM (Java, Kotlin, Scala) ``import a.b.C``: the file ``a/b/C.*`` by suffix, else the package folder
  ``a/b`` (Kotlin and Scala files need not be named after their class).
- Shell ``source x`` / ``. x``: relative to the script (``$(dirname "$0")/x``, ``${BASH_SOURCE%/*}/x``),
  then to the root.
- Lua ``require "a.b"``: ``a/b.lua`` or ``a/b/init.lua`` from the root, ``src/`` or ``lua/``, then by suffix.
- Erlang: a module atom ``m`` is the file ``m.erl`` anywhere (closest first); ``-include("x.hrl")``
  is relative to the importer, then ``include/``, then by suffix.
- Elixir ``alias Shop.OrderService`` -> ``shop/order_service.ex(s)`` by suffix.
- Haskell ``import Shop.Order`` -> ``Shop/Order.hs`` by suffix, or ``Order.hs`` under a source root.
- OCaml ``open Order`` / ``Order.f`` -> ``order.ml`` (or ``.mli``) anywhere, closest first.
- Julia ``include("x.jl")`` is relative to the importer; ``using Shop`` -> ``Shop.jl`` anywhere.
- Perl ``use A::B`` and R ``source("R/x.R")`` need nothing more than the generic lookup.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

_C_INCLUDE_DIRS = ("include", "src", "inc", "source")
_RUBY_ROOTS = ("lib", "", "app")
_LUA_ROOTS = ("", "src", "lua", "lib")
_HASKELL_ROOTS = ("", "src", "app", "lib")
_SCRIPT_DIR = re.compile(
    r"^(\$\(\s*dirname\s+[^)]*\)|\$\{BASH_SOURCE(\[0\])?%/\*\}|\$\{?[A-Za-z_]*DIR\}?)(?=/)"
)
"""A leading "the script's own directory" in a sourced path."""
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class ModuleIndex(Protocol):
    """What a resolver reads of the repository's :class:`~mnemo_dagster.graph.modules.ModuleIndex`."""

    family_of: dict[str, str]
    suffixes: Mapping[str, list[str]]
    folders: Mapping[str, list[str]]

    def best(self, candidates: Iterable[str], importer: str) -> str | None: ...


Resolver = Callable[[ModuleIndex, str, str], "str | None"]


def _existing(index: ModuleIndex, candidates: list[str], importer: str) -> str | None:
    """The first candidate path that is a file of the importer's family."""
    family = index.family_of[importer]
    for candidate in candidates:
        if candidate.startswith("../"):
            continue
        if index.family_of.get(candidate) == family:
            return candidate
    return None


def _here(importer: str, relative: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(importer), relative))


def _by_dropping_prefixes(index: ModuleIndex, parts: list[str], importer: str, *, keep: int) -> str | None:
    """The closest file whose extensionless path ends with ``parts``, then with shorter tails of it.

    ``keep`` is the fewest trailing parts tried; one bare name would mostly match by accident."""
    for start in range(0, len(parts) - keep + 1):
        found = index.best(index.suffixes.get("/".join(parts[start:]), ()), importer)
        if found:
            return found
    return None


def resolve_c(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``#include "x.h"`` / ``#include <x.h>``."""
    system = spec.startswith("<")
    name = spec.strip("<>\"' ")
    if not name:
        return None
    candidates = [] if system else [_here(importer, name)]
    candidates += [posixpath.normpath(name), *(f"{root}/{name}" for root in _C_INCLUDE_DIRS)]
    found = _existing(index, candidates, importer)
    if found or (system and "/" not in name):
        return found
    return index.best(index.suffixes.get(name.lstrip("./"), ()), importer)


def resolve_ruby(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``require_relative`` (``./x``) and ``require`` (``a/b``)."""
    stem = spec[:-3] if spec.endswith(".rb") else spec
    if stem.startswith("."):
        return _existing(index, [f"{_here(importer, stem)}.rb"], importer)
    found = _existing(index, [posixpath.join(root, f"{stem}.rb") for root in _RUBY_ROOTS], importer)
    if found or "/" not in stem:
        return found
    return index.best(index.suffixes.get(stem, ()), importer)


def resolve_php(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``use A\\B\\C`` (a class) or ``require "x.php"`` (a path)."""
    if spec.endswith((".php", ".inc", ".phtml")):
        path = spec.lstrip("/")
        return _existing(index, [_here(importer, path), posixpath.normpath(path)], importer)
    parts = [p for p in spec.split("\\") if p]
    return _by_dropping_prefixes(index, parts, importer, keep=1 if len(parts) > 1 else len(parts) + 1)


def resolve_c_sharp(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``using A.B;`` (a namespace: its folder) or ``using X = A.B.C;`` (a type: its file)."""
    parts = [p for p in spec.split(".") if p]
    found = _by_dropping_prefixes(index, parts, importer, keep=min(2, len(parts)))
    if found:
        return found
    return _folder(index, parts, importer)


def resolve_jvm(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``import a.b.C`` (the file ``a/b/C.*``, else the folder ``a/b``) or ``import a.b.*``."""
    parts = [p for p in spec.split(".") if p]
    if len(parts) < 2:
        return None
    found = _by_dropping_prefixes(index, parts, importer, keep=2)
    if found:
        return found
    return _folder(index, parts[:-1], importer) or _folder(index, parts, importer)


def _folder(index: ModuleIndex, parts: list[str], importer: str) -> str | None:
    """The closest file of the importer's family in a folder whose path ends with ``parts``."""
    for start in range(0, len(parts)):
        found = index.best(index.folders.get("/".join(parts[start:]), ()), importer)
        if found:
            return found
    return None


def resolve_shell(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``source x`` / ``. x``, relative to the script, then to the root."""
    path = _SCRIPT_DIR.sub(".", spec.strip())
    if not path or "$" in path:
        return None
    if path.startswith("/"):
        return None  # an absolute path is outside the repository
    return _existing(index, [_here(importer, path), posixpath.normpath(path)], importer)


def resolve_lua(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``require "a.b"``."""
    stem = spec.replace(".", "/")
    candidates = [
        posixpath.join(root, name) for root in _LUA_ROOTS for name in (f"{stem}.lua", f"{stem}/init.lua")
    ]
    found = _existing(index, candidates, importer)
    if found or "/" not in stem:
        return found
    return index.best(index.suffixes.get(stem, ()), importer)


def resolve_erlang(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """A module atom (``m`` -> ``m.erl``) or an included file (``x.hrl``)."""
    if spec.endswith((".hrl", ".erl")):
        name = spec.split("/")[-1] if spec.startswith("$") else spec
        found = _existing(index, [_here(importer, name), f"include/{name}", name], importer)
        return found or index.best(index.suffixes.get(name, ()), importer)
    return index.best(index.suffixes.get(f"{spec}.erl", ()), importer)


def resolve_elixir(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``alias Shop.OrderService`` -> ``shop/order_service.ex``."""
    parts = [_CAMEL_BOUNDARY.sub("_", p).lower() for p in spec.split(".") if p]
    return _by_dropping_prefixes(index, parts, importer, keep=len(parts)) if parts else None


def resolve_haskell(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``import Shop.Order`` -> ``Shop/Order.hs``."""
    stem = spec.replace(".", "/")
    found = _existing(index, [posixpath.join(root, f"{stem}.hs") for root in _HASKELL_ROOTS], importer)
    if found or "/" not in stem:
        return found
    return index.best(index.suffixes.get(stem, ()), importer)


def resolve_ocaml(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``Order`` -> ``order.ml`` (OCaml uncapitalises the file name)."""
    if not spec[:1].isupper():
        return None
    return index.best(index.suffixes.get(spec[0].lower() + spec[1:], ()), importer) or index.best(
        index.suffixes.get(spec, ()), importer
    )


def resolve_julia(index: ModuleIndex, spec: str, importer: str) -> str | None:
    """``include("x.jl")`` (relative to the file) or ``using Shop`` (``Shop.jl``, ``Shop/src/Shop.jl``)."""
    if spec.endswith(".jl"):
        return _existing(index, [_here(importer, spec), posixpath.normpath(spec)], importer)
    name = spec.split(".")[0]
    return index.best(index.suffixes.get(f"{name}.jl", ()), importer)


RESOLVERS: dict[str, Resolver] = {
    "c": resolve_c,
    "ruby": resolve_ruby,
    "php": resolve_php,
    "c_sharp": resolve_c_sharp,
    "jvm": resolve_jvm,
    "shell": resolve_shell,
    "lua": resolve_lua,
    "erlang": resolve_erlang,
    "elixir": resolve_elixir,
    "haskell": resolve_haskell,
    "ocaml": resolve_ocaml,
    "julia": resolve_julia,
}
"""Language family -> resolver; the other families use the generic path/dotted-suffix lookup."""
