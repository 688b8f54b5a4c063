"""The partitions: one per file batch (``file_batches``, keys like ``<repository>__0001``) for
``code_chunks``, and one per registered repository (``repositories``, keys the repository's name) for
the graph assets."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import DagsterInstance, DynamicPartitionsDefinition

file_batches = DynamicPartitionsDefinition(name="file_batches")
repositories = DynamicPartitionsDefinition(name="repositories")


def sync_partitions(instance: DagsterInstance, keys: Iterable[str], removed: Iterable[str] = ()) -> None:
    """Make the ``file_batches`` partitions include ``keys`` and drop ``removed``, through the instance
    (thousands of keys at once in a fraction of a second, where a sensor's request takes a minute)."""
    existing = set(instance.get_dynamic_partitions(file_batches.name))
    missing = sorted(set(keys) - existing)
    if missing:
        instance.add_dynamic_partitions(file_batches.name, missing)
    for key in removed:
        if key in existing:
            instance.delete_dynamic_partition(file_batches.name, key)


def add_repositories(instance: DagsterInstance, names: Iterable[str]) -> None:
    """Make the ``repositories`` partitions include ``names`` (a repository's graph partition exists
    from its first scan on)."""
    missing = sorted(set(names) - set(instance.get_dynamic_partitions(repositories.name)))
    if missing:
        instance.add_dynamic_partitions(repositories.name, missing)
