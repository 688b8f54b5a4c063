"""Resolve an import's module specifier to a file of the repository, per language family.

- Python absolute: ``a.b.c`` -> ``a/b/c.py`` or ``a/b/c/__init__.py``, also under source roots such
  as ``src/``, next to the importing script, and by suffix against known module paths. Python
  relative: ``.models``, ``..pkg.x``. (``from pkg import name`` where ``name`` is a submodule is
  tried first by :meth:`~mnemo_dagster.graph.resolution.Resolver.import_binding`.)
- JS/TS relative: ``./user`` -> ``./user.ts``, ``./user/index.ts``..., tsconfig/jsconfig ``paths``
  and ``baseUrl`` (:mod:`.jsconfig`), and root, ``src`` and ``@/`` specifiers.
- C/C++, Ruby, PHP, C#, JVM (Java, Kotlin, Scala), shell, Lua, Erlang, Elixir, Haskell and OCaml:
  per family, in :mod:`.native_modules`.
- Other languages (Go, Rust): by path or by dotted/``::`` suffix (``use crate::a::Item``).

A specifier that names no file of the repository (stdlib, third-party) resolves to None.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from mnemo_dagster.graph.jsconfig import JsPaths
from mnemo_dagster.graph.native_modules import RESOLVERS

_PY_EXTENSIONS = (".py", ".pyi")
_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_SOURCE_ROOTS = ("src", "lib", "python", "source")
_JS_ROOTS = ("", "src/")
_FAMILIES = {
    "python": "python",
    "javascript": "js",
    "typescript": "js",
    "tsx": "js",
    "jsx": "js",
    # C, C++ and Objective-C share headers: a call in a .cpp file may well name a function of a .c file.
    "c": "c",
    "cpp": "c",
    "objc": "c",
    # Java, Kotlin and Scala call each other's classes directly in mixed projects (Android, Gradle
    # multi-language builds), and share the package layout.
    "java": "jvm",
    "kotlin": "jvm",
    "scala": "jvm",
}


def language_family(language: str) -> str:
    """The family a language resolves modules and names within (``typescript`` -> ``js``).

    Every other language is a family of its own, so calls never resolve across languages by name.
    """
    return _FAMILIES.get(language, language)


def _strip_extension(path: str, extensions: Sequence[str]) -> str | None:
    for ext in sorted(extensions, key=len, reverse=True):
        if path.endswith(ext):
            return path[: -len(ext)]
    return None


def own_package(counts: Mapping[str, int]) -> str | None:
    """The name most often counted (twice at least) by :meth:`ModuleIndex.package_heads`."""
    best = max(sorted(counts), key=lambda head: counts[head], default=None)
    return best if best is not None and counts[best] >= 2 else None


def _common_prefix_len(a: str, b: str) -> int:
    """Number of leading directory components two paths share."""
    count = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        count += 1
    return count


class ModuleIndex:
    """The repository's files by module path, built once, queried once per import record."""

    def __init__(self) -> None:
        self.family_of: dict[str, str] = {}
        """File path -> language family."""
        self.py_modules: dict[str, str] = {}
        """Python dotted module name (from the repository root) -> file path."""
        self.suffixes: dict[str, list[str]] = defaultdict(list)
        """``a/b/c`` (extensionless, ``__init__``/``index`` dropped) and every suffix -> paths."""
        self.js_paths = JsPaths()
        """The repository's tsconfig/jsconfig module options (set by the graph builder)."""
        self.folders: dict[str, list[str]] = defaultdict(list)
        """Other languages: a folder path and every suffix of it -> the files directly in it."""
        self.own_package: str | None = None
        """The name the repository's Python code imports itself by when the indexed folder is a
        package itself (``src/flask`` imports ``flask.helpers``): see :meth:`find_own_package`."""

    def find_own_package(self, specs: Iterable[str]) -> None:
        """When the folder indexed holds a top-level ``__init__.py``, it is a package whose own name
        the tree does not hold: the first part of absolute imports (``networkx`` of
        ``networkx.utils.decorators``) that names no module of the tree, while the rest does, most
        often (twice at least), is that name, and imports of it resolve inside the tree."""
        self.own_package = own_package(self.package_heads(specs))

    def package_heads(self, specs: Iterable[str]) -> dict[str, int]:
        """How often each candidate name of the tree's own package heads ``specs``
        (:meth:`find_own_package`; counted per file, they add up)."""
        counts: dict[str, int] = defaultdict(int)
        if "__init__.py" not in self.family_of:
            return counts
        for spec in specs:
            head, dot, rest = spec.partition(".")
            if dot and not spec.startswith(".") and head not in self.py_modules and rest in self.py_modules:
                counts[head] += 1
        return dict(counts)

    def add(self, path: str, family: str) -> None:
        """Index one file; files are added in path order, which makes every lookup deterministic."""
        self.family_of[path] = family
        if family == "python":
            stem = _strip_extension(path, _PY_EXTENSIONS)
            if stem is None:
                return
            parts = stem.split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                self.py_modules.setdefault(".".join(parts), path)
        elif family == "js":
            stem = _strip_extension(path, _JS_EXTENSIONS)
            parts = (stem or path).split("/")
            if parts[-1] == "index" and len(parts) > 1:
                parts = parts[:-1]
        else:
            # Other languages: index full paths too, so ``#include "x/foo.h"`` can match by suffix.
            full = path.split("/")
            for i in range(len(full)):
                self.suffixes["/".join(full[i:])].append(path)
            for i in range(len(full) - 1):
                self.folders["/".join(full[i:-1])].append(path)
            head, dot, ext = path.rpartition(".")
            if not dot or "/" in ext:
                return
            parts = head.split("/")
        for i in range(len(parts)):
            self.suffixes["/".join(parts[i:])].append(path)

    def resolve(self, spec: str, importer: str) -> str | None:
        """The file a module specifier in file ``importer`` names, or None when it is external."""
        if not spec:
            return None
        family = self.family_of[importer]
        if family == "python":
            found = self._resolve_python(spec, importer)
        elif family == "js":
            found = self._resolve_js(spec, importer)
        elif family in RESOLVERS:
            found = RESOLVERS[family](self, spec, importer)
        else:
            found = self._resolve_generic(spec, importer)
        return found if found != importer else None

    def best(self, candidates: Iterable[str], importer: str) -> str | None:
        """The candidate of the importer's family closest to it in the tree (then shortest)."""
        family = self.family_of[importer]
        same_family = [c for c in candidates if self.family_of[c] == family]
        if not same_family:
            return None
        return min(same_family, key=lambda c: (-_common_prefix_len(c, importer), len(c), c))

    # -- Python ----------------------------------------------------------------------------------

    def _python_file(self, stem: str) -> str | None:
        for candidate in (f"{stem}.py", f"{stem}/__init__.py", f"{stem}.pyi", f"{stem}/__init__.pyi"):
            if candidate in self.family_of:
                return candidate
        return None

    def _resolve_python_relative(self, spec: str, importer: str) -> str | None:
        level = len(spec) - len(spec.lstrip("."))
        base = posixpath.dirname(importer)
        for _ in range(level - 1):
            if not base:
                return None
            base = posixpath.dirname(base)
        rest = spec[level:].replace(".", "/")
        stem = posixpath.join(base, rest) if rest else base
        return self._python_file(stem) if stem else None

    def _resolve_python(self, spec: str, importer: str) -> str | None:
        if spec.startswith("."):
            return self._resolve_python_relative(spec, importer)
        if spec in self.py_modules:
            return self.py_modules[spec]
        own = self.own_package
        if own is not None and (spec == own or spec.startswith(own + ".")):
            rest = spec[len(own) + 1 :]
            return self.py_modules.get(rest) if rest else "__init__.py"
        stem = spec.replace(".", "/")
        for root in _SOURCE_ROOTS:
            found = self._python_file(f"{root}/{stem}")
            if found:
                return found
        # Scripts import their siblings by bare name (the script's directory is on sys.path).
        found = self._python_file(posixpath.join(posixpath.dirname(importer), stem))
        if found:
            return found
        if "." not in spec:
            # A bare single name matched by suffix would mostly catch stdlib/third-party names.
            return None
        return self.best(self.suffixes.get(stem, ()), importer)

    # -- JavaScript / TypeScript -----------------------------------------------------------------

    def _js_file(self, stem: str) -> str | None:
        if stem in self.family_of:
            return stem
        for ext in _JS_EXTENSIONS:
            if f"{stem}{ext}" in self.family_of:
                return f"{stem}{ext}"
        for ext in _JS_EXTENSIONS:
            if f"{stem}/index{ext}" in self.family_of:
                return f"{stem}/index{ext}"
        return None

    def _resolve_js(self, spec: str, importer: str) -> str | None:
        if spec.startswith("."):
            stems = [posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))]
        elif spec.startswith(("@/", "~/")):
            stems = [*self.js_paths.stems(spec, importer), f"src/{spec[2:]}", spec[2:]]
        elif spec.startswith("/"):
            stems = [spec.lstrip("/")]
        else:
            # tsconfig/jsconfig ``paths`` and ``baseUrl`` first, then the usual roots.
            stems = [*self.js_paths.stems(spec, importer), *(f"{root}{spec}" for root in _JS_ROOTS)]
        for stem in stems:
            if stem.startswith("../") or stem == "..":
                continue
            found = self._js_file(stem)
            if found is None:
                # TypeScript ESM writes ``./user.js`` for ``user.ts``.
                bare = _strip_extension(stem, (".js", ".jsx", ".mjs", ".cjs"))
                found = self._js_file(bare) if bare else None
            if found:
                return found
        return None

    # -- other languages -------------------------------------------------------------------------

    def _resolve_generic(self, spec: str, importer: str) -> str | None:
        spec = spec.strip("\"'<> ")
        if not spec:
            return None
        if "/" in spec:
            here = posixpath.normpath(posixpath.join(posixpath.dirname(importer), spec))
            for stem in (here, spec):
                if stem in self.family_of:
                    return stem
            return self.best(self.suffixes.get(spec.lstrip("./"), ()), importer)
        parts = [p for p in spec.replace("::", ".").split(".") if p]
        while parts and parts[0] in ("crate", "self", "super"):
            parts = parts[1:]
        # ``use crate::a::Item`` / ``import com.x.Item`` may name an item inside a module: try shorter,
        # but never down to one bare name, which would mostly match by accident.
        for end in range(len(parts), 1 if len(parts) > 1 else 0, -1):
            found = self.best(self.suffixes.get("/".join(parts[:end]), ()), importer)
            if found:
                return found
        return None
