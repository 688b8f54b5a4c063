"""The flow facts survive the store: chunks written with them, the graph rebuilt from what is stored."""

from __future__ import annotations

from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import language_for
from mnemo_dagster.indexing.graph_build import load_graph, store_graph
from mnemo_dagster.models import SourceFile
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster_tests.rows import parsed_rows

FILES = {
    "pkg/models.py": (
        "class Base:\n    def save(self):\n        self.check()\n\n    def check(self):\n        pass\n"
    ),
    "pkg/app.py": (
        "from pkg.models import Base\n\n\nclass Item(Base):\n    def check(self):\n        pass\n\n\n"
        "def handlers():\n    return {'save': Item().save}\n\n\ndef main():\n    handlers()['save']()\n"
    ),
    "web/tsconfig.json": (
        '{\n  // comment\n  "compilerOptions": {"baseUrl": ".", "paths": {"@lib/*": ["lib/*"]}}\n}\n'
    ),
    "web/lib/fmt.ts": "export function fmt(x: string): string {\n  return x;\n}\n",
    "web/main.ts": 'import { fmt } from "@lib/fmt";\n\nexport function run(): void {\n  fmt("a");\n}\n',
}


def _write(store: IndexStore, files: dict[str, str] = FILES) -> None:
    store.files.register("r", "/src/r")
    changed = [
        SourceFile(p, language_for(p).name, len(t), 1, f"h{i}") for i, (p, t) in enumerate(files.items())
    ]
    store.files.apply_scan("r", changed=changed, touched=[], deleted=[], plan=dict.fromkeys(files, "r__0001"))
    for n, (path, text) in enumerate(files.items()):
        parsed = parse_file(path, text.encode(), language_for(path).name)
        rows = parsed_rows(parsed, f"c{n}")
        store.chunks.write_file(
            "r", path, language=parsed.language, content_hash=f"h{n}", chunks=rows, warning=None
        )


def test_the_graph_of_stored_chunks_uses_flow_summaries_and_tsconfig_paths(fresh_store: IndexStore) -> None:
    _write(fresh_store)
    assert fresh_store.graph.config_texts("r") == {
        "web/tsconfig.json": FILES["web/tsconfig.json"].rstrip("\n")
    }
    counts = store_graph(fresh_store, "r")
    graph, _ = load_graph(fresh_store, "r")
    calls = {(e.source, e.target) for e in graph.edges if e.kind == "calls"}
    assert calls == {
        ("pkg/app.py::handlers", "pkg/app.py::Item"),
        ("pkg/app.py::main", "pkg/app.py::handlers"),
        ("pkg/app.py::main", "pkg/models.py::Base.save"),  # a bound method from a dict, returned
        # self.check() in a method its module never calls: Base.check and the override of every
        # subclass in the repository (Item's is the one this program runs; Base's is the price).
        ("pkg/models.py::Base.save", "pkg/models.py::Base.check"),
        ("pkg/models.py::Base.save", "pkg/app.py::Item.check"),
        ("web/main.ts::run", "web/lib/fmt.ts::fmt"),  # "@lib/*" from tsconfig paths
    }
    # handlers() and Item(); handlers()['save'](); self.check(); fmt("a"): every call resolved.
    assert (counts["calls_total"], counts["calls_resolved"]) == (5, 5)


def test_a_minified_tsconfig_is_read_whole_from_its_chunks(fresh_store: IndexStore) -> None:
    # One line longer than a chunk: it is stored as pieces that share their start line.
    aliases = ", ".join(f'"@pkg{i}/*": ["packages/pkg{i}/src/*"]' for i in range(60))
    tsconfig = '{"compilerOptions": {"baseUrl": ".", "paths": {' + aliases + ', "@lib/*": ["lib/*"]}}}'
    files = {
        "web/tsconfig.json": tsconfig,
        "web/lib/fmt.ts": FILES["web/lib/fmt.ts"],
        "web/main.ts": FILES["web/main.ts"],
    }
    _write(fresh_store, files)
    assert fresh_store.graph.config_texts("r") == {"web/tsconfig.json": tsconfig}
    store_graph(fresh_store, "r")
    graph, _ = load_graph(fresh_store, "r")
    assert ("web/main.ts::run", "web/lib/fmt.ts::fmt") in {(e.source, e.target) for e in graph.edges}
