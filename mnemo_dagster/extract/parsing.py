"""tree-sitter parsers and compiled tag queries, built once per process.

Queries live in ``extract/queries/<folder>/tags.scm`` (package data). A file may start with
``; inherits: a, b`` to include other folders' ``tags.scm`` first, so grammars that share syntax
(JavaScript, TypeScript, TSX) share patterns; every included pattern must compile for each grammar
that includes it.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from mnemo_dagster.extract.languages import LanguageSpec, language_named

if TYPE_CHECKING:
    from tree_sitter import Language, Parser, Query, Tree

QUERIES_DIR = Path(__file__).parent / "queries"
_INHERITS = "; inherits:"
PARSE_TIMEOUT_SECONDS = 30
"""A parse that takes longer has met a grammar bug (the bundled Lua grammar loops on some input)."""
_RESET_PROBES = {"lua": b'local _ = f("a")\n'}
"""Grammars whose external scanner does not reset its state when a parse starts, with a probe that
parses cleanly only from a good state.

The bundled Lua scanner allocates its state without initialising it and ignores the empty state a
new parse hands it, so a parse starts from heap garbage (a new parser) or from wherever the last
parse stopped (an unterminated string or long comment leaves a string state behind). Either way a
valid file then parses with errors. Before each parse the probe is parsed until it parses cleanly;
after a failed probe the scanner gets a new state (``set_language`` destroys and creates it), whose
garbage the next probe clears, which a state left behind by a file is not. A clean probe ends on a
closed string, so the scanner is back in its initial state."""
_RESET_TRIES = 40
"""Probes before giving up. Each fresh state is new heap garbage, and a CI run met ten bad ones in a row
(once in many runs); a good probe takes microseconds, so more tries cost nothing when the state is good."""
_PROBE_TIMEOUT_MICROS = 200_000


def _parse_timeout_micros() -> int:
    return round(PARSE_TIMEOUT_SECONDS * 1_000_000)


@functools.cache
def get_language(grammar: str) -> Language:
    """The tree-sitter ``Language`` for a tree-sitter-languages grammar name."""
    import tree_sitter_languages

    # tree-sitter-languages 1.10 calls the deprecated ``Language(path, name)``; the warning is about
    # that wheel, not about anything mnemo can change.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return tree_sitter_languages.get_language(grammar)


@functools.cache
def get_parser(grammar: str) -> Parser:
    """A parser for ``grammar``; cached, so reuse it only from one thread at a time."""
    from tree_sitter import Parser

    parser = Parser()
    parser.set_language(get_language(grammar))
    parser.set_timeout_micros(_parse_timeout_micros())
    return parser


class GrammarError(Exception):
    """A grammar that could not parse a file at all: it ran past :data:`PARSE_TIMEOUT_SECONDS`, or
    its scanner would not reset."""


def _reset_scanner(parser: Parser, grammar: str) -> None:
    """Put a grammar listed in :data:`_RESET_PROBES` back into its initial scanner state."""
    probe = _RESET_PROBES[grammar]
    parser.set_timeout_micros(_PROBE_TIMEOUT_MICROS)
    try:
        for attempt in range(_RESET_TRIES):
            try:
                if not parser.parse(probe).root_node.has_error:
                    return
            except ValueError:  # the probe timed out: a new scanner state follows
                parser.reset()
            if attempt % 2 == 0:
                parser.set_language(get_language(grammar))
    finally:
        parser.set_timeout_micros(_parse_timeout_micros())
    raise GrammarError(f"the {grammar} grammar's scanner did not reset after {_RESET_TRIES} tries")


def parse(source: bytes, language: str | LanguageSpec) -> Tree:
    """Parse UTF-8 ``source`` with the grammar of ``language`` (a registry name or spec).

    Raises :class:`GrammarError` when the grammar runs past :data:`PARSE_TIMEOUT_SECONDS` (or its
    scanner cannot be reset)."""
    spec = language if isinstance(language, LanguageSpec) else language_named(language)
    if spec.grammar is None:
        raise ValueError(f"no tree-sitter grammar for {spec.name}")
    parser = get_parser(spec.grammar)
    if spec.grammar in _RESET_PROBES:
        _reset_scanner(parser, spec.grammar)
    try:
        return parser.parse(source)
    except ValueError:  # tree-sitter's "Parsing failed": the timeout passed
        parser.reset()  # or the next parse would resume this one
        raise GrammarError(f"the {spec.name} grammar gave up after {PARSE_TIMEOUT_SECONDS} s") from None


def query_source(folder: str) -> str:
    """The text of ``queries/<folder>/tags.scm`` with its ``; inherits:`` folders prepended."""
    text = (QUERIES_DIR / folder / "tags.scm").read_text(encoding="utf-8")
    first_line = text.split("\n", 1)[0]
    if not first_line.startswith(_INHERITS):
        return text
    parents = [name.strip() for name in first_line[len(_INHERITS) :].split(",") if name.strip()]
    return "\n".join([*(query_source(parent) for parent in parents), text])


@functools.cache
def get_tags_query(language: str) -> Query:
    """The compiled tags query of a registry language; ``ValueError`` if it has none."""
    spec = language_named(language)
    if not spec.has_queries:
        raise ValueError(f"{language} has no tree-sitter queries")
    assert spec.queries is not None and spec.grammar is not None
    return get_language(spec.grammar).query(query_source(spec.queries))
