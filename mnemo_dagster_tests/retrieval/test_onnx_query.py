"""The query encoder on ONNX Runtime (:mod:`mnemo_dagster.retrieval.onnx_query`), against the real
model: the same vectors as PyTorch, one export reused, a model it cannot stand in for refused, and
both encoders forced through a real search."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.embedding import SentenceTransformerEmbedder, model_location
from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.batch import index_batch
from mnemo_dagster.indexing.planning import plan_pass
from mnemo_dagster.retrieval.index import Index, Ranking, rank
from mnemo_dagster.retrieval.onnx_query import OnnxQueryEncoder, export_key, onnx_encoder, query_encoder
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.store.search import Filters

QUERIES = [
    "retry with exponential backoff",
    "Checkout.place_order",
    "a much longer query that asks where the shop formats the price of a cart in cents for display",
]
NO_FILTERS = Filters(None, None, None, None)
SAMPLE = Path(__file__).parents[1] / "fixtures" / "sample_repo"


@pytest.fixture(scope="module")
def float32() -> SentenceTransformerEmbedder:
    """The default model in float32, as search loads it."""
    return SentenceTransformerEmbedder(dtype="float32", threads=1)


def test_the_export_gives_the_models_vectors_and_is_made_once(
    float32: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    encoder = onnx_encoder(float32, tmp_path, threads=1)
    [exported] = tmp_path.glob("*.onnx")
    assert (
        exported.name == f"{export_key(float32.model_name)}.onnx" and exported.stat().st_mode & 0o444 == 0o444
    )
    got, expected = encoder.encode(QUERIES), float32.encode(QUERIES)
    assert got.dtype == np.float32 and got.shape == (3, 384)
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    made = exported.stat().st_mtime_ns
    assert isinstance(onnx_encoder(float32, tmp_path, threads=1), OnnxQueryEncoder)
    assert exported.stat().st_mtime_ns == made and list(tmp_path.iterdir()) == [exported]  # reused


def test_a_model_pooled_otherwise_keeps_pytorch(tmp_path: Path) -> None:
    # The same weights, pooled on the CLS token: the mean-pooled export does not stand in for it.
    model = tmp_path / "cls-pooled"
    shutil.copytree(model_location(SentenceTransformerEmbedder().model_name), model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    pooling.write_text(
        json.dumps({**config, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    cls = SentenceTransformerEmbedder(str(model), dtype="float32", threads=1)

    with pytest.raises(ConfigError, match="the ONNX export's vectors differ from the model's"):
        query_encoder(cls, tmp_path, "onnx", 1)
    encode = query_encoder(cls, tmp_path, "auto", 1)
    assert encode == cls.encode  # the model's own, with PyTorch
    assert query_encoder(cls, tmp_path, "torch", 1) == cls.encode


def test_search_answers_alike_with_either_encoder(
    float32: SentenceTransformerEmbedder, tmp_path: Path, fresh_store: IndexStore
) -> None:
    plan = plan_pass(fresh_store, "shop", SAMPLE, max_file_bytes=1 << 20)
    for key in plan.to_run:
        index_batch(fresh_store, float32, key)
    answers = {}
    for choice in ("onnx", "torch"):
        settings = Settings.from_env().replace(home=tmp_path, query_encoder=choice)
        index = Index(settings=settings, embedder=float32, store=fresh_store)
        answers[choice] = [
            [(h.qualified_name, h.start_line, round(h.score, 3)) for h in index.search(q, limit=5)]
            for q in QUERIES
        ]
        encoder = index._encode
        assert isinstance(getattr(encoder, "__self__", None), OnnxQueryEncoder) == (choice == "onnx")
    assert answers["onnx"] == answers["torch"] and all(answers["onnx"])
    # An Index runs the nearest arm on its own connection beside the others; ranked in one, the same.
    alone = [
        [
            (h.qualified_name, h.start_line, round(h.score, 3))
            for h in rank(fresh_store, v, q, NO_FILTERS, 5, Ranking())
        ]
        for q, v in zip(QUERIES, float32.encode(QUERIES), strict=True)
    ]
    assert alone == answers["torch"]


def test_a_model_on_the_gpu_keeps_pytorch(tmp_path: Path) -> None:
    # Nothing is loaded: where the model runs is known from the setting alone.
    gpu = SentenceTransformerEmbedder(dtype="float32", device="cuda")
    assert query_encoder(gpu, tmp_path, "auto", 1) == gpu.encode
    with pytest.raises(ConfigError, match="on the CPU"):
        query_encoder(gpu, tmp_path, "onnx", 1)
    assert not list(tmp_path.iterdir())  # no export for it
