"""Search's query encoder on ONNX Runtime.

A query is one short text, and on a CPU most of its forward pass through PyTorch is the cost of
running each operator, not the arithmetic: all-MiniLM-L6-v2 takes p50 18 / p95 34 ms for a docstring
query on the 2-core benchmark machine, ONNX Runtime 9 / 20 ms for the same vector (they differ by
1e-7; ``docs/benchmarks.md``). The embedding is the longest step of a warm search, so
:class:`~mnemo_dagster.retrieval.index.Index` encodes its queries with :class:`OnnxQueryEncoder` when
it can (:func:`query_encoder`):

- the model's transformer is exported once with ``torch.onnx.export`` into ``$MNEMO_HOME/models``,
  under a name keyed by the model's files (written to a temporary file, then renamed into place, so
  two processes that export at once both end up with a whole file);
- its output is pooled as the sentence-transformers model pools (the mean over the attention mask)
  and normalised;
- before it is used, its vectors for :data:`PROBES` must equal the PyTorch model's within
  :data:`TOLERANCE`: a model that pools otherwise (its CLS token, a dense layer after pooling) fails
  that check, and its queries stay on PyTorch.

``MNEMO_QUERY_ENCODER``: ``auto`` (the default) uses ONNX Runtime where the check passes, ``onnx``
makes a failure an error, ``torch`` keeps PyTorch. Indexing always embeds with PyTorch.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mnemo_dagster.embedding import SentenceTransformerEmbedder, model_location
from mnemo_dagster.errors import ConfigError

log = logging.getLogger(__name__)

PROBES = (
    "parse a date",
    "def retry_with_backoff(attempts, delay):",
    "ZodType",
    "how does the scheduler pick which job to run next when several are due",
)
"""Texts whose ONNX vectors must equal the model's own before ONNX encodes queries."""
TOLERANCE = 1e-4
"""The largest difference allowed in any coordinate of a probe's unit vector."""
OPSET = 17

Encode = Callable[[Sequence[str]], np.ndarray]


class OnnxQueryEncoder:
    """Unit vectors of texts from an exported transformer (``session``), mean-pooled."""

    def __init__(self, session: Any, tokenizer: Any, max_length: int) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        tokens = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
        )
        mask = tokens["attention_mask"].astype(np.int64)
        feed = {"input_ids": tokens["input_ids"].astype(np.int64), "attention_mask": mask}
        hidden = self.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def query_encoder(embedder: Any, home: Path, choice: str, threads: int) -> Encode:
    """How ``embedder``'s queries are encoded (``choice``: ``MNEMO_QUERY_ENCODER``): on ONNX Runtime
    with ``threads`` threads (its export cached under ``home``), or by ``embedder`` itself where
    ``choice`` is ``torch``, or ``auto`` and ONNX cannot (it says why in the log).

    Raises :class:`~mnemo_dagster.errors.ConfigError` for ``onnx`` when ONNX cannot."""
    if choice == "torch":
        return embedder.encode  # type: ignore[no-any-return]
    try:
        if not isinstance(embedder, SentenceTransformerEmbedder) or embedder.target_device() != "cpu":
            raise ConfigError("the ONNX query encoder serves a sentence-transformers model on the CPU")
        return onnx_encoder(embedder, home / "models", threads).encode
    except ConfigError as exc:
        if choice == "onnx":
            raise
        log.info("queries are encoded with PyTorch: %s", exc)
        return embedder.encode  # type: ignore[no-any-return]


def onnx_encoder(embedder: SentenceTransformerEmbedder, cache: Path, threads: int) -> OnnxQueryEncoder:
    """An :class:`OnnxQueryEncoder` of ``embedder``'s model, exported into ``cache`` if not there yet,
    whose vectors match the model's (:data:`PROBES`).

    Raises :class:`~mnemo_dagster.errors.ConfigError` when ONNX Runtime is missing, the export fails,
    or the vectors differ."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(f"onnxruntime is not installed ({exc})") from exc
    model = embedder.model
    transformer = model[0]
    path = cache / f"{export_key(embedder.model_name)}.onnx"
    if not path.exists():
        export(transformer.auto_model, transformer.tokenizer, path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # PostgreSQL needs the core
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ConfigError(f"ONNX Runtime cannot load {path.name} ({exc})") from exc
    # A tokenizer of its own: the resident service's passes tokenize with the model's on another thread.
    tokenizer = copy.deepcopy(transformer.tokenizer)
    encoder = OnnxQueryEncoder(session, tokenizer, int(model.max_seq_length))
    off = float(np.abs(encoder.encode(PROBES) - embedder.encode(PROBES)).max())
    if off > TOLERANCE:
        raise ConfigError(
            f"the ONNX export's vectors differ from the model's by {off:.2g} (pooled otherwise?)"
        )
    return encoder


def export_key(model_name: str) -> str:
    """A file name for the export of ``model_name``: its name and a digest of where it lies and of its
    files' sizes and times (a model replaced in place gets a new export), the opset and torch's version."""
    import torch

    location = Path(model_location(model_name))
    files = sorted(
        (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
        for entry in (location.iterdir() if location.is_dir() else ())
        if entry.is_file()
    )
    digest = hashlib.sha256(repr((str(location), files, OPSET, torch.__version__)).encode()).hexdigest()
    return f"{location.name}-{digest[:16]}"


def export(model: Any, tokenizer: Any, path: Path) -> None:
    """Export ``model`` (a Hugging Face transformer) to ``path``: inputs ``input_ids`` and
    ``attention_mask``, output its last hidden state, batch and length dynamic."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = tokenizer(["an example query"], return_tensors="pt")
    dynamic = {0: "batch", 1: "tokens"}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".onnx.part", dir=path.parent)
    os.close(handle)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on the model's Python branches
            torch.onnx.export(
                LastHiddenState().eval(),
                (sample["input_ids"], sample["attention_mask"]),
                temporary,
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "last_hidden_state": dynamic},
                opset_version=OPSET,
                dynamo=False,
            )
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep other users' searches on PyTorch
        os.replace(temporary, path)
    except Exception as exc:
        raise ConfigError(f"could not export the query model to ONNX ({type(exc).__name__}: {exc})") from exc
    finally:
        Path(temporary).unlink(missing_ok=True)
