"""The language registry: which files mnemo indexes, and how.

A :class:`LanguageSpec` names a language, the tree-sitter grammar for it (a ``tree_sitter_languages``
name) and the file names and extensions that select it. Languages with ``queries`` set get AST-aware
chunking, symbols and references from ``extract/queries/<queries>/tags.scm``; the others are indexed as
line windows only. ``docs/languages.md`` lists what each language gets.

:func:`language_for` looks a path up by its file name first (``Dockerfile``, ``Makefile``,
``CMakeLists.txt``), then by its longest known extension (``.d.ts`` before ``.ts``), case-sensitively
first and then lower-cased (``.C`` is C++, ``.PY`` is still Python).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """One language mnemo recognises."""

    name: str
    """Registry name, stored in ``source_files.language`` and ``code_chunks.language``."""
    grammar: str | None
    """tree-sitter-languages grammar name, or None when no grammar is bundled."""
    extensions: tuple[str, ...]
    """File extensions with the leading dot, e.g. ``(".py", ".pyi")``."""
    filenames: tuple[str, ...] = ()
    """Exact file names that select this language whatever their extension, e.g. ``("Dockerfile",)``."""
    queries: str | None = None
    """Folder under ``extract/queries`` with this language's ``tags.scm``; None: line windows only."""

    @property
    def has_queries(self) -> bool:
        """Whether files of this language get AST chunks, symbols and references."""
        return self.queries is not None and self.grammar is not None


LANGUAGES: tuple[LanguageSpec, ...] = (
    # With tree-sitter chunking, symbols and references.
    LanguageSpec("python", "python", (".py", ".pyi", ".pyw"), queries="python"),
    LanguageSpec("javascript", "javascript", (".js", ".mjs", ".cjs", ".jsx"), queries="javascript"),
    LanguageSpec("typescript", "typescript", (".ts", ".mts", ".cts", ".d.ts"), queries="typescript"),
    LanguageSpec("tsx", "tsx", (".tsx",), queries="tsx"),
    LanguageSpec("go", "go", (".go",), queries="go"),
    LanguageSpec("rust", "rust", (".rs",), queries="rust"),
    LanguageSpec("java", "java", (".java",), queries="java"),
    LanguageSpec("c", "c", (".c", ".h"), queries="c"),
    LanguageSpec(
        "cpp",
        "cpp",
        (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".C", ".ipp", ".tpp", ".inl"),
        queries="cpp",
    ),
    LanguageSpec("c_sharp", "c_sharp", (".cs",), queries="c_sharp"),
    LanguageSpec("kotlin", "kotlin", (".kt", ".kts"), queries="kotlin"),
    LanguageSpec("scala", "scala", (".scala", ".sc"), queries="scala"),
    LanguageSpec(
        "ruby", "ruby", (".rb", ".rake", ".gemspec"), filenames=("Rakefile", "Gemfile"), queries="ruby"
    ),
    LanguageSpec("php", "php", (".php", ".phtml"), queries="php"),
    LanguageSpec("lua", "lua", (".lua",), queries="lua"),
    LanguageSpec(
        "shell",
        "bash",
        (".sh", ".bash", ".zsh"),
        filenames=(".bashrc", ".zshrc", ".profile", ".bash_profile"),
        queries="bash",
    ),
    LanguageSpec("elixir", "elixir", (".ex", ".exs"), queries="elixir"),
    LanguageSpec("haskell", "haskell", (".hs",), queries="haskell"),
    LanguageSpec("ocaml", "ocaml", (".ml", ".mli"), queries="ocaml"),
    LanguageSpec("erlang", "erlang", (".erl", ".hrl"), queries="erlang"),
    LanguageSpec("perl", "perl", (".pl", ".pm"), queries="perl"),
    LanguageSpec("r", "r", (".r", ".R"), queries="r"),
    LanguageSpec("julia", "julia", (".jl",), queries="julia"),
    # ``.m`` is Objective-C here, not MATLAB (no MATLAB grammar is bundled); ``.mm`` is Objective-C++.
    LanguageSpec("objc", "objc", (".m", ".mm"), queries="objc"),
    # Line windows only.
    LanguageSpec("elm", "elm", (".elm",)),
    LanguageSpec("elisp", "elisp", (".el",)),
    LanguageSpec("commonlisp", "commonlisp", (".lisp", ".lsp", ".cl", ".asd")),
    LanguageSpec("fortran", "fortran", (".f90", ".f95", ".f03", ".f08", ".f", ".for", ".ftn")),
    LanguageSpec("hack", "hack", (".hack",)),
    LanguageSpec("swift", None, (".swift",)),
    LanguageSpec("sql", "sql", (".sql",)),
    LanguageSpec("html", "html", (".html", ".htm")),
    LanguageSpec("css", "css", (".css", ".scss", ".less")),
    LanguageSpec("vue", None, (".vue",)),
    LanguageSpec("svelte", None, (".svelte",)),
    LanguageSpec("markdown", "markdown", (".md", ".markdown", ".mdx")),
    LanguageSpec("rst", "rst", (".rst",)),
    LanguageSpec("text", None, (".txt",), filenames=("README", "LICENSE", "CHANGELOG", "AUTHORS")),
    LanguageSpec("json", "json", (".json", ".jsonc", ".json5")),
    LanguageSpec("yaml", "yaml", (".yaml", ".yml")),
    LanguageSpec("toml", "toml", (".toml",), filenames=("Cargo.lock", "poetry.lock")),
    LanguageSpec("ini", None, (".ini", ".cfg", ".conf"), filenames=(".editorconfig",)),
    LanguageSpec("xml", None, (".xml", ".xsd", ".xsl", ".svg")),
    LanguageSpec("protobuf", None, (".proto",)),
    LanguageSpec("graphql", None, (".graphql", ".gql")),
    LanguageSpec("terraform", "hcl", (".tf", ".tfvars", ".hcl")),
    LanguageSpec("dockerfile", "dockerfile", (".dockerfile",), filenames=("Dockerfile", "Containerfile")),
    LanguageSpec("make", "make", (".mk", ".make"), filenames=("Makefile", "GNUmakefile", "makefile")),
    LanguageSpec("cmake", None, (".cmake",), filenames=("CMakeLists.txt",)),
    LanguageSpec("gomod", None, (), filenames=("go.mod", "go.sum", "go.work")),
)

_BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in LANGUAGES}
_BY_FILENAME: dict[str, LanguageSpec] = {name: spec for spec in LANGUAGES for name in spec.filenames}
_BY_EXTENSION: dict[str, LanguageSpec] = {ext: spec for spec in LANGUAGES for ext in spec.extensions}
_BY_LOWER_EXTENSION: dict[str, LanguageSpec] = {
    ext.lower(): spec for spec in reversed(LANGUAGES) for ext in spec.extensions
}


def language_for(path: str) -> LanguageSpec | None:
    """The language of a file, by its file name first and then its extension; None if unknown.

    ``path`` may be relative or absolute, with POSIX separators; only its last component is used.
    ``Dockerfile.prod``-style names count as Dockerfiles.
    """
    filename = posixpath.basename(path)
    spec = _BY_FILENAME.get(filename)
    if spec is not None:
        return spec
    if filename.startswith(("Dockerfile.", "Containerfile.")):
        return _BY_NAME["dockerfile"]
    # Longest suffix first: "a.test.d.ts" tries ".test.d.ts", ".d.ts", ".ts". A leading dot alone
    # (".bashrc") is a file name, not an extension.
    dot = filename.find(".", 1)
    while dot != -1:
        ext = filename[dot:]
        spec = _BY_EXTENSION.get(ext) or _BY_LOWER_EXTENSION.get(ext.lower())
        if spec is not None:
            return spec
        dot = filename.find(".", dot + 1)
    return None


def language_named(name: str) -> LanguageSpec:
    """The registry entry called ``name``; raises ``KeyError`` for an unknown name."""
    return _BY_NAME[name]
