"""The indexing core against the real store and model: good files in, bad files recorded, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.indexing.batch import index_batch
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.store.database import IndexStore

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


@pytest.mark.parametrize("parse_processes", [0, 2], ids=["parse-thread", "parse-processes"])
def test_bad_files_are_recorded_and_never_fail_the_batch(
    tmp_path: Path, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder, parse_processes: int
) -> None:
    _catalogue(tmp_path)
    plan = plan_pass(fresh_store, "catalogue", tmp_path, max_file_bytes=1024 * 1024)
    assert plan.to_run == ("catalogue__0001",)
    (tmp_path / "vanish.py").unlink()  # deleted between the scan and the parse

    report = index_batch(fresh_store, embedder, "catalogue__0001", parse_processes=parse_processes)

    files = fresh_store.files.stored("catalogue")
    status = {path: (f.status, f.error) for path, f in files.items()}
    assert status == {
        "good.py": ("indexed", None),
        "helper.ts": ("indexed", None),
        "blob.py": ("skipped", "binary file"),
        "empty.py": ("skipped", "empty file"),
        "huge.min.js": ("skipped", "too large (5.2 MB; the limit is 1.0 MB)"),  # 5,200,000 bytes
        "small.min.js": ("skipped", "minified or generated (a line of 320,000 characters)"),
        "latin1.py": ("failed", "not valid UTF-8 (first bad byte at offset 8)"),  # after "name = '"
        "vanish.py": ("failed", "file vanished after the scan (deleted or moved)"),
        # The two regions: the `)` missing from `def broken(:`, and `return (` up to `class Fine:`.
        "broken.py": ("indexed", "syntax error near line 4 (2 error regions); indexed with error recovery"),
    }
    assert (report.files_indexed, report.files_failed) == (3, 2)
    assert sorted(path for path, _ in report.failures) == ["latin1.py", "vanish.py"]

    with fresh_store.begin() as conn:
        chunks = conn.execute(
            sa.text(
                "SELECT file_path, qualified_name, start_line, end_line, vector_dims(embedding) "
                "FROM code_chunks ORDER BY file_path, start_line"
            )
        ).all()
    assert chunks == [
        ("broken.py", "broken.py::ok", 1, 2, 384),
        ("broken.py", "broken.py::broken", 4, 8, 384),  # class Fine ends up in its body
        ("good.py", "good.py", 1, 1, 384),  # import hashlib
        ("good.py", "good.py::compute_checksum", 4, 6, 384),
        ("good.py", "good.py::Cache", 9, 11, 384),
        ("helper.ts", "helper.ts::greet", 1, 3, 384),
    ]
    assert (report.embeddings_computed, report.embeddings_reused) == (6, 0)


def test_a_rerun_reuses_embeddings_and_skips_unchanged_files(
    tmp_path: Path, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "other.py").write_text("def other():\n    return 2\n")
    plan_pass(fresh_store, "rerun", tmp_path, max_file_bytes=1 << 20)
    first = index_batch(fresh_store, embedder, "rerun__0001")
    assert (first.files_indexed, first.embeddings_computed, first.embeddings_reused) == (
        2,
        4,
        0,
    )  # good.py has 3 chunks

    (tmp_path / "good.py").write_text(GOOD.replace("return self.items.get(key)", "return self.items[key]"))
    plan = plan_pass(fresh_store, "rerun", tmp_path, max_file_bytes=1 << 20)
    assert plan.to_run == ("rerun__0001",) and plan.files_new_or_changed == 1
    second = index_batch(fresh_store, embedder, "rerun__0001")
    assert (second.files_indexed, second.files_unchanged) == (1, 1)
    # Only the Cache chunk changed: the import and compute_checksum keep their embeddings.
    assert (second.embeddings_computed, second.embeddings_reused) == (1, 2)


def test_a_pass_cut_short_resumes_with_only_the_unfinished_batches(
    tmp_path: Path, fresh_store: IndexStore, embedder: SentenceTransformerEmbedder
) -> None:
    for i in range(6):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    plan = plan_pass(fresh_store, "cut", tmp_path, max_file_bytes=1 << 20, max_files=2)
    assert sorted(plan.to_run) == ["cut__0001", "cut__0002", "cut__0003"]  # the newest edit first
    index_batch(fresh_store, embedder, "cut__0001")  # then the pass is killed

    resumed = plan_pass(fresh_store, "cut", tmp_path, max_file_bytes=1 << 20)
    assert sorted(resumed.to_run) == ["cut__0002", "cut__0003"]
    assert resumed.files_new_or_changed == 0
    for key in resumed.to_run:
        index_batch(fresh_store, embedder, key)
    # Running a finished batch again (a retried or orphaned step) changes nothing.
    rerun = index_batch(fresh_store, embedder, "cut__0001")
    assert (rerun.files_indexed, rerun.files_unchanged, rerun.embeddings_computed) == (0, 2, 0)
    files = fresh_store.files.stored("cut")
    assert {f.status for f in files.values()} == {"indexed"}
    with fresh_store.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM code_chunks")).scalar_one() == 6
