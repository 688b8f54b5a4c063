"""Docstring-to-code evaluation of search on real packages installed in this environment.

    python benchmarks/search_eval.py prepare --home DIR   # copy packages, blank docstrings, index them
    python benchmarks/search_eval.py run --home DIR       # score the rankings, tuning and held-out sets

``prepare`` copies each package below, removes every docstring from the copy (so the query text is
not inside any chunk), and indexes the copy as its own repository with ``mnemo index --in-process``.
It keeps two kinds of cases:

- **docstring**: the first paragraph of a function's, method's or class's docstring; the answer is
  the chunk that holds that definition's first line (a small class is one chunk with its methods);



``run`` reports MRR@10, recall@1/5/10 and identifier recall@3 per ranking, for the packages used to
tune (``TUNE``) and, separately, for packages never looked at while tuning (``HELD_OUT``). The
rankings: ``today`` (the ranking before hybrid search: cosine plus a 0.15 bonus for any query word
that is a symbol name, query embedded in bfloat16), ``vector`` (cosine only), and the hybrid
settings of :class:`mnemo_dagster.retrieval.index.Ranking`.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TUNE = ("click", "pathspec")
HELD_OUT = ("packaging", "dateutil")
DOCSTRING_CASES = 150
IDENTIFIER_CASES = 100
SEED = 7
MIN_WORDS = 4


@dataclass(frozen=True)
class Case:
    repository: str
    query: str
    file_path: str
    line: int
    """1-based line of the definition (``def``/``class``) the query is about."""
    kind: str
    """``docstring`` or ``identifier``."""


def _definitions(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    found: list[tuple[str, ast.AST]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                path = f"{prefix}{child.name}"
                found.append((path, child))
                walk(child, path + ".")

    walk(tree, "")
    return found


def _first_paragraph(doc: str) -> str:
    paragraph = doc.strip().split("\n\n")[0]
    return re.sub(r"\s+", " ", paragraph).strip()[:300]


def _blank_docstrings(source: str, tree: ast.AST) -> str:
    """``source`` with every docstring replaced by ``...`` (line numbers of code after it shift)."""
    lines = source.splitlines(keepends=True)
    spans = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and body:
            first = body[0]
            docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if docstring and isinstance(first.value.value, str):
                spans.append((first.lineno, first.end_lineno or first.lineno, first.col_offset))
    for start, end, col in sorted(spans, reverse=True):
        lines[start - 1 : end] = [lines[start - 1][:col] + "...\n"]
    return "".join(lines)


def _copy_package(name: str, target: Path) -> list[Case]:
    """Copy the installed package ``name`` to ``target`` without docstrings; return its cases."""
    source_root = Path(sysconfig.get_paths()["purelib"]) / name
    docs: list[Case] = []
    names: dict[str, list[Case]] = {}
    for path in sorted(source_root.rglob("*.py")):
        relative = path.relative_to(source_root).as_posix()
        if "/tests/" in f"/{relative}" or relative.startswith("tests"):
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        blanked = _blank_docstrings(source, tree)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(blanked, encoding="utf-8")
        # The blanked copy's line numbers are the ones the index holds.
        for symbol, node in _definitions(ast.parse(blanked)):
            original = next((n for s, n in _definitions(tree) if s == symbol), None)
            doc = ast.get_docstring(original) if original is not None else None
            if doc and len(_first_paragraph(doc).split()) >= MIN_WORDS:
                docs.append(Case(name, _first_paragraph(doc), relative, node.lineno, "docstring"))
            bare = symbol.rsplit(".", 1)[-1]
            names.setdefault(bare, []).append(Case(name, bare, relative, node.lineno, "identifier"))
    unique = [found[0] for bare, found in names.items() if len(found) == 1 and not bare.startswith("__")]
    rng = random.Random(SEED)
    return rng.sample(docs, min(DOCSTRING_CASES, len(docs))) + rng.sample(
        unique, min(IDENTIFIER_CASES, len(unique))
    )


def prepare(home: Path) -> None:
    sources = home / "src"
    cases: list[Case] = []
    for name in TUNE + HELD_OUT:
        target = sources / name
        shutil.rmtree(target, ignore_errors=True)
        cases += _copy_package(name, target)
    (home / "cases.json").write_text(json.dumps([c.__dict__ for c in cases], indent=1))
    env = {**os.environ, "MNEMO_HOME": str(home)}
    env.pop("MNEMO_DATABASE_URL", None)
    for name in TUNE + HELD_OUT:
        command = [str(Path(sys.executable).parent / "mnemo"), "index", str(sources / name), "--name", name]
        subprocess.run([*command, "--in-process", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"{len(cases)} cases over {len(TUNE + HELD_OUT)} packages in {home}")


def _legacy_search(store: Any, vector: Any, case: Case) -> list[Any]:
    """The ranking before hybrid search (cosine + 0.15 name bonus; ``vector`` embedded in bf16)."""
    import sqlalchemy as sa

    from mnemo_dagster.store.schema import code_chunks

    words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]{2,}", case.query)}
    c = code_chunks.c
    similarity = (1 - c.embedding.cosine_distance(vector)).label("s")
    base = sa.select(c.file_path, c.start_line, c.end_line, c.name, similarity).where(
        c.repository == case.repository
    )
    with store.begin() as conn:
        conn.execute(sa.text("SET LOCAL hnsw.ef_search = 100"))
        rows = list(conn.execute(base.order_by(c.embedding.cosine_distance(vector)).limit(30)))
        if words:
            rows += list(conn.execute(base.where(sa.func.lower(c.name).in_(sorted(words))).limit(30)))
    best: dict[tuple[str, int], tuple[float, Any]] = {}
    for row in rows:
        score = row.s + (0.15 if row.name and row.name.lower() in words else 0.0)
        key = (row.file_path, row.start_line)
        if key not in best or best[key][0] < score:
            best[key] = (score, row)
    return [row for _, row in sorted(best.values(), key=lambda x: -x[0])][:10]


def _position(hits: list[Any], case: Case) -> int | None:
    for n, hit in enumerate(hits, 1):
        if hit.file_path == case.file_path and hit.start_line <= case.line <= hit.end_line:
            return n
    return None


LEADING_LINES = 5
"""Comment lines above a definition that its chunk may start with."""


def _span(home: Path, case: Case, cache: dict[str, ast.AST]) -> tuple[int, int]:
    """Where the definition's own hit may start: from a few lines above its first decorator (or its
    ``def``/``class`` line), but below the line of the function or class around it, to that line;
    read from the blanked copy the index holds."""
    key = f"{case.repository}/{case.file_path}"
    if key not in cache:
        cache[key] = ast.parse((home / "src" / key).read_text(encoding="utf-8"))
    found = dict((node.lineno, (symbol, node)) for symbol, node in _definitions(cache[key]))  # type: ignore[attr-defined]
    symbol, node = found[case.line]
    decorators = [d.lineno for d in getattr(node, "decorator_list", [])]
    lowest = min([*decorators, case.line]) - LEADING_LINES
    parent = symbol.rpartition(".")[0]
    for line, (other, _) in found.items():
        if other == parent and line < case.line:
            lowest = max(lowest, line + 1)
    return lowest, case.line


def _own_position(hits: list[Any], case: Case, span: tuple[int, int]) -> int | None:
    """Rank of the first hit that is the definition itself, not the function or class around it: it
    starts between :func:`_span`'s bounds and holds the ``def``/``class`` line."""
    lowest, line = span
    for n, hit in enumerate(hits, 1):
        if hit.file_path == case.file_path and lowest <= hit.start_line <= line <= hit.end_line:
            return n
    return None


def _score(positions: dict[str, list[int | None]]) -> dict[str, float]:
    docs, idents, own = positions["docstring"], positions["identifier"], positions["own"]
    ranks = [p for p in docs if p is not None and p <= 10]
    return {
        "mrr@10": sum(1 / p for p in ranks) / max(len(docs), 1),
        **{
            f"recall@{k}": sum(1 for p in docs if p is not None and p <= k) / max(len(docs), 1)
            for k in (1, 5, 10)
        },
        "ident@3": sum(1 for p in idents if p is not None and p <= 3) / max(len(idents), 1),
        "own@3": sum(1 for p in own if p is not None and p <= 3) / max(len(own), 1),
        "n": float(len(docs)),
    }


def evaluate(
    home: Path, rankings: dict[str, Any], only: set[str] | None = None, verbose: bool = False
) -> dict[str, Any]:
    """Scores per ranking name, per package set (``tune``, ``held_out``). Each query is embedded
    once per dtype and ranked by :func:`mnemo_dagster.retrieval.index.rank`, as ``Index.search`` does."""
    from mnemo_dagster.embedding import SentenceTransformerEmbedder
    from mnemo_dagster.retrieval.index import Index, rank
    from mnemo_dagster.store.search import Filters

    os.environ["MNEMO_HOME"] = str(home)
    os.environ.pop("MNEMO_DATABASE_URL", None)
    cases = [Case(**c) for c in json.loads((home / "cases.json").read_text())]
    cases = [case for case in cases if case.repository in (only or set(TUNE + HELD_OUT))]
    index = Index().warm()
    float32 = index.embedder.encode([case.query for case in cases])  # type: ignore[union-attr]
    bfloat16 = SentenceTransformerEmbedder(dtype="bfloat16").encode([case.query for case in cases])
    results: dict[str, Any] = {}
    trees: dict[str, ast.AST] = {}
    for label, ranking in rankings.items():
        per_set: dict[str, dict[str, list[int | None]]] = {}
        for case, vector, legacy_vector in zip(cases, float32, bfloat16, strict=True):
            if ranking is None:
                hits = _legacy_search(index.store, legacy_vector, case)
            else:
                hits = rank(index.store, vector, case.query, Filters(case.repository), 10, ranking)
            group = "tune" if case.repository in TUNE else "held_out"
            found = per_set.setdefault(group, {"docstring": [], "identifier": [], "own": []})
            found[case.kind].append(_position(hits, case))
            if case.kind == "identifier":
                found["own"].append(_own_position(hits, case, _span(home, case, trees)))
                if verbose and found["own"][-1] is None:
                    print(
                        f"  own miss {case.repository} {case.query!r} {case.file_path}:{case.line}: "
                        + ", ".join(f"{h.qualified_name}:{h.start_line}-{h.end_line}" for h in hits[:3])
                    )
        results[label] = {group: _score(positions) for group, positions in per_set.items()}
        _print_row(label, results[label])
    index.close()
    return results


def _print_row(label: str, scores: dict[str, dict[str, float]]) -> None:
    cells = []
    for group in ("tune", "held_out"):
        s = scores.get(group, {})
        cells.append(
            f"{group}: MRR@10 {s.get('mrr@10', 0):.3f} R@1 {s.get('recall@1', 0):.2f} R@5 "
            f"{s.get('recall@5', 0):.2f} R@10 {s.get('recall@10', 0):.2f} ident@3 {s.get('ident@3', 0):.2f} "
            f"own@3 {s.get('own@3', 0):.2f}"
        )
    print(f"{label:<28} " + " | ".join(cells), flush=True)


def _rankings(sweep: bool) -> dict[str, Any]:
    from mnemo_dagster.retrieval.index import Ranking

    chosen = {
        "today (cosine+name bonus)": None,
        "vector only": Ranking(lexical_weight=0.0, exact=False),
        "hybrid (default)": Ranking(),
    }
    if sweep:
        for weight in (0.1, 0.15, 0.2, 0.4):
            chosen[f"weighted w={weight}"] = Ranking(lexical_weight=weight)
        for weight in (0.1, 0.2):
            for content in (0.05, 0.3):
                weights = (content, 0.2, 0.4, 1.0)
                chosen[f"w={weight} D={content}"] = Ranking(lexical_weight=weight, lexical_weights=weights)
            chosen[f"w={weight} norm=2"] = Ranking(lexical_weight=weight, normalization=2)
            chosen[f"w={weight} norm=0"] = Ranking(lexical_weight=weight, normalization=0)
        for weight in (0.3, 0.5):
            chosen[f"rrf k=60 w={weight}"] = Ranking(fusion="rrf", lexical_weight=weight)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("--home", type=Path, required=True, help="MNEMO_HOME of the evaluation index")
    parser.add_argument("--sweep", action="store_true", help="also score the fusion settings tried")
    parser.add_argument("--json", type=Path, help="write the scores here")
    parser.add_argument("--only", action="append", help="only this package (repeatable)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list the identifiers not found at their own lines"
    )
    args = parser.parse_args()
    home = args.home.resolve()
    if args.step == "prepare":
        prepare(home)
        return
    results = evaluate(home, _rankings(args.sweep), set(args.only) if args.only else None, args.verbose)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
