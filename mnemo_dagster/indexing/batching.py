"""Stable batch planning: which files are indexed together in one ``code_chunks`` partition.

A file keeps its batch for as long as it exists, so editing or deleting files never moves other files
between batches. New files fill the newest batch while it has room, then open new ones; batches are
bounded by total source bytes (so each one carries enough embedding work to amortise its process start)
and by a file count.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from mnemo_dagster.config.defaults import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_FILES

KEY_SEPARATOR = "__"
_REPOSITORY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def valid_repository_name(name: str) -> bool:
    """Names become partition keys, run tags and directory names: letters, digits, ``_ . -``, starting
    with a letter or digit, with no ``__`` (the key separator) and no ``..`` (a path or a CLI range)."""
    return bool(_REPOSITORY_NAME.match(name)) and KEY_SEPARATOR not in name and ".." not in name


def batch_key(repository: str, number: int) -> str:
    """The partition key of batch ``number`` of ``repository``."""
    return f"{repository}{KEY_SEPARATOR}{number:04d}"


def split_batch_key(key: str) -> tuple[str, int]:
    """Inverse of :func:`batch_key`."""
    repository, _, number = key.rpartition(KEY_SEPARATOR)
    if not repository or not number.isdigit():
        raise ValueError(f"not a mnemo batch key: {key!r}")
    return repository, int(number)


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """Bounds on one batch."""

    max_bytes: int = DEFAULT_BATCH_BYTES
    max_files: int = DEFAULT_BATCH_FILES


def plan_batches(
    repository: str,
    sizes: Mapping[str, int],
    current: Mapping[str, str | None],
    limits: BatchLimits = BatchLimits(),
) -> dict[str, str]:
    """Assign every path in ``sizes`` (path -> bytes) to a batch key.

    ``current`` maps paths to the batch they were in before (None when unassigned); those keep their
    batch. The rest, in path order, fill the newest batch and then new ones.
    """
    plan: dict[str, str] = {}
    fill: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # number -> [bytes, files]
    newcomers: list[str] = []
    for path in sorted(sizes):
        key = current.get(path)
        if key is None:
            newcomers.append(path)
            continue
        plan[path] = key
        _, number = split_batch_key(key)
        fill[number][0] += sizes[path]
        fill[number][1] += 1
    number = max(fill, default=0)
    used = fill[number] if number else [limits.max_bytes, limits.max_files]
    for path in newcomers:
        size = sizes[path]
        full = used[1] >= limits.max_files or (used[1] > 0 and used[0] + size > limits.max_bytes)
        if number == 0 or full:
            number += 1
            used = fill[number]
        plan[path] = batch_key(repository, number)
        used[0] += size
        used[1] += 1
    return plan


def group_by_batch(plan: Mapping[str, str]) -> dict[str, list[str]]:
    """Batch key -> sorted paths."""
    groups: dict[str, list[str]] = defaultdict(list)
    for path, key in sorted(plan.items()):
        groups[key].append(path)
    return dict(groups)
