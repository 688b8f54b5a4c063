"""The indexing core against the real store and model: good files in, bad files recorded, nothing lost."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from mnemo_dagster.core.embedding import SentenceTransformerEmbedder
from mnemo_dagster.core.indexing import index_batch
from mnemo_dagster.core.planning import plan_pass
from mnemo_dagster.core.store.database import IndexStore

GOOD = '''import hashlib


def compute_checksum(data: bytes) -> str:
    """Return the sha256 checksum of some bytes."""
    return hashlib.sha256(data).hexdigest()


class Cache:
    def get(self, key):
        return self.items.get(key)
'''


def _catalogue(root: Path) -> None:
    (root / "good.py").write_text(GOOD)
    (root / "helper.ts").write_text(
        "export function greet(name: string): string {\n  return `hi ${name}`;\n}\n"
    )
    (root / "blob.py").write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00binary")
    (root / "latin1.py").write_bytes(b"name = '\xe9t\xe9'\n")
    (root / "broken.py").write_text(
        "def ok():\n    return 1\n\ndef broken(:\n    return (\n\nclass Fine:\n    pass\n"
    )
    (root / "empty.py").write_text("")
    (root / "huge.min.js").write_text("var a=1;" * 650_000)  # one 5.2 MB line
    (root / "small.min.js").write_text("var b=2;" * 40_000)  # one 320 KB line
    (root / "vanish.py").write_text("def soon_gone():\n    return 1\n")


def test_bad_files_are_recorded_and_never_fail_the_batch(
    tmp_path: Path, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    _catalogue(tmp_path)
    plan = plan_pass(fresh_store, "catalogue", tmp_path, max_file_bytes=1024 * 1024)
    assert plan.to_run == ("catalogue__0001",)
    (tmp_path / "vanish.py").unlink()  # deleted between the scan and the parse

    report = index_batch(fresh_store, embedder, "catalogue__0001")

    files = fresh_store.files.stored("catalogue")
    status = {path: (f.status, f.error) for path, f in files.items()}
    assert status["good.py"] == ("indexed", None)
    assert status["helper.ts"] == ("indexed", None)
    assert status["blob.py"] == ("skipped", "binary file")
    assert status["empty.py"] == ("skipped", "empty file")
    assert status["huge.min.js"][0] == "skipped" and status["huge.min.js"][1].startswith("too large (5.2 MB")
    assert status["small.min.js"][0] == "skipped" and "minified" in status["small.min.js"][1]
    assert status["latin1.py"][0] == "failed" and "UTF-8" in status["latin1.py"][1]
    assert status["vanish.py"] == ("failed", "file vanished after the scan (deleted or moved)")
    assert status["broken.py"][0] == "indexed" and "syntax error" in status["broken.py"][1]
    assert (report.files_indexed, report.files_failed) == (3, 2)
    assert sorted(path for path, _ in report.failures) == ["latin1.py", "vanish.py"]

    with fresh_store.begin() as conn:
        chunks = conn.execute(
            sa.text(
                "SELECT file_path, qualified_name, start_line, end_line, vector_dims(embedding) "
                "FROM code_chunks ORDER BY file_path, start_line"
            )
        ).all()
    names = {qn for _, qn, *_ in chunks}
    assert {"good.py::compute_checksum", "good.py::Cache", "helper.ts::greet", "broken.py::ok"} <= names
    assert all(dims == 384 for *_, dims in chunks)
    assert {path for path, *_ in chunks} == {"good.py", "helper.ts", "broken.py"}
    assert report.embedded == len(chunks) and report.reused == 0


def test_a_rerun_reuses_embeddings_and_skips_unchanged_files(
    tmp_path: Path, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "other.py").write_text("def other():\n    return 2\n")
    plan_pass(fresh_store, "rerun", tmp_path, max_file_bytes=1 << 20)
    first = index_batch(fresh_store, embedder, "rerun__0001")
    assert first.files_indexed == 2 and first.reused == 0

    (tmp_path / "good.py").write_text(GOOD.replace("return self.items.get(key)", "return self.items[key]"))
    plan = plan_pass(fresh_store, "rerun", tmp_path, max_file_bytes=1 << 20)
    assert plan.to_run == ("rerun__0001",) and plan.files_new_or_changed == 1
    second = index_batch(fresh_store, embedder, "rerun__0001")
    assert (second.files_indexed, second.files_unchanged) == (1, 1)
    assert second.embedded >= 1 and second.reused >= 1
    assert second.embedded < first.embedded


def test_a_pass_cut_short_resumes_with_only_the_unfinished_batches(
    tmp_path: Path, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    for i in range(6):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    plan = plan_pass(fresh_store, "cut", tmp_path, max_file_bytes=1 << 20, max_files=2)
    assert plan.to_run == ("cut__0001", "cut__0002", "cut__0003")
    index_batch(fresh_store, embedder, "cut__0001")  # then the pass is killed

    resumed = plan_pass(fresh_store, "cut", tmp_path, max_file_bytes=1 << 20)
    assert resumed.to_run == ("cut__0002", "cut__0003")
    assert resumed.files_new_or_changed == 0
    for key in resumed.to_run:
        index_batch(fresh_store, embedder, key)
    # Running a finished batch again (a retried or orphaned step) changes nothing.
    rerun = index_batch(fresh_store, embedder, "cut__0001")
    assert (rerun.files_indexed, rerun.files_unchanged, rerun.embedded) == (0, 2, 0)
    files = fresh_store.files.stored("cut")
    assert {f.status for f in files.values()} == {"indexed"}
    with fresh_store.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM code_chunks")).scalar_one() == 6
