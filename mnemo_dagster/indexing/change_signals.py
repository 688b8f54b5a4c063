"""Cheap signs that a registered tree changed since its last scan: what the directory sensor looks at
on each tick, instead of walking the tree the way a scan does.

A scan records when its walk started (``repositories.scanned_at``), and every change made to the tree
before then is in ``source_files``. A change made since leaves an mtime later than that instant:

- adding, deleting or renaming a file or a directory sets the mtime of the directory that holds it.
  git's checkout, pull, merge, reset and stash delete and re-create the files they change, so they do
  too, and so do editors that save by writing a new file and renaming it over the old one;
- writing into an existing file sets that file's mtime, and no directory's.

git's own files are no signal: a commit changes no file of the work tree (which is what gets indexed),
and ``git status`` alone rewrites ``.git/index``. ``.git`` is pruned here as it is in a scan.

So :func:`find_change` stats every directory a scan enters (about one per hundred files), and, since a
file written in place leaves its directory alone, *sweeps* the files: one look stats at most
``budget`` of them, starting where the previous look stopped, so each file is looked at once every
``ceil(files / budget)`` looks (while the tree keeps its files). The first path found newer than the
scan ends the look.

Blind spots, which the sensor's periodic full scan covers: an mtime set back into the past on an
existing file (``touch -d``, or ``cp -p``/``rsync -t --inplace`` onto it), and a tree whose clock
disagrees with this machine's (a network filesystem). An mtime in the future is no sign either: no
edit made now gives one, and such a file would otherwise look changed on every tick.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mnemo_dagster.indexing.discovery import directories

MTIME_SLACK_NS = 2_000_000_000
"""An mtime this much before the scan started still counts as after it: file timestamps are coarser
than the clock (the kernel's tick on ext4, 2 s on FAT). At worst, one scan too many."""


@dataclass(frozen=True, slots=True)
class Sweep:
    """Where the file sweep of one tree stands between two looks."""

    next: int = 0
    """Position of the first file the next look stats, in the order of
    :func:`~mnemo_dagster.indexing.discovery.directories`."""
    files: int | None = None
    """Files the last whole look counted; None before one."""


@dataclass(frozen=True, slots=True)
class Change:
    """The first sign of change a look found."""

    path: str
    """Relative POSIX path of the directory or file; ``.`` for the root."""
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Look:
    """What one look at a tree found."""

    change: Change | None
    sweep: Sweep
    """Where the next look goes on (unchanged when this one stopped at a change)."""
    file_stats: int
    """Files whose ``stat`` this look took."""


def find_change(root: Path, since_ns: int, sweep: Sweep, budget: int, *, now_ns: int | None = None) -> Look:
    """Look for a directory or file under ``root`` modified since ``since_ns`` (ns since the epoch),
    statting every directory and at most ``budget`` files from ``sweep`` on.

    Raises :class:`OSError` when ``root`` itself cannot be read.
    """
    os.stat(root)
    now_ns = time.time_ns() if now_ns is None else now_ns
    low, high = since_ns - MTIME_SLACK_NS, now_ns + MTIME_SLACK_NS
    start = 0 if sweep.files is not None and budget >= sweep.files else sweep.next
    stop = start + budget
    position = stats = 0
    for directory in directories(root):
        try:
            mtime = os.stat(directory.path).st_mtime_ns
        except OSError:
            continue  # gone since its parent was listed: the parent's mtime has moved
        if low <= mtime <= high:
            return Look(Change(directory.rel or ".", mtime), sweep, stats)
        count = len(directory.files)
        for entry in directory.files[max(start - position, 0) : max(stop - position, 0)]:
            stats += 1
            try:
                mtime = entry.stat(follow_symlinks=False).st_mtime_ns
            except OSError:
                continue
            if low <= mtime <= high and not directory.ignored(entry.name):
                return Look(Change(directory.rel_path(entry.name), mtime), sweep, stats)
        position += count
    return Look(None, Sweep(stop if stop < position else 0, position), stats)


def share_budget(total: int, files: Mapping[str, int | None]) -> dict[str, int]:
    """Split ``total`` file stats among trees (name -> files, None if not counted yet) in proportion to
    their files, rounded up: every tree's sweep then comes round within ``ceil(all files / total)``
    looks. A tree not counted yet counts as an average one."""
    known = [n for n in files.values() if n is not None]
    average = sum(known) // len(known) if known else 1
    weights = {name: max(average if n is None else n, 1) for name, n in files.items()}
    whole = sum(weights.values())
    return {name: -(-total * weight // whole) for name, weight in weights.items()}  # rounded up
