"""A process that preloads the model may fork, and its children must still encode: GNU OpenMP's
thread pool does not survive a fork, so a preload must never start it (whatever the dtype)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

FORK_AND_ENCODE = textwrap.dedent(
    """
    import os, sys, time
    import torch
    from mnemo_dagster.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder(device="cpu", dtype=sys.argv[1])
    assert embedder.preload()
    threads = torch.get_num_threads()
    child = os.fork()
    if child == 0:
        vectors = embedder.encode(["def add(a, b):\\n    return a + b"] * 64)
        os._exit(0 if vectors.shape == (64, 384) and torch.get_num_threads() == threads else 3)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            sys.exit(os.waitstatus_to_exitcode(status))
        time.sleep(0.05)
    os.kill(child, 9)
    sys.exit("the forked child hung in its first encode")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_a_child_forked_after_a_preload_encodes(dtype: str) -> None:
    # A fresh interpreter: this one may already have run torch's thread pool.
    result = subprocess.run(
        [sys.executable, "-c", FORK_AND_ENCODE, dtype], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_thread_count_is_kept_after_a_load() -> None:
    import torch

    from mnemo_dagster.embedding import one_torch_thread

    before = torch.get_num_threads()
    with one_torch_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
