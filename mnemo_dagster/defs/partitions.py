"""One dynamic partition per file batch; keys look like ``<repository>__0001``."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import DagsterInstance, DynamicPartitionsDefinition

file_batches = DynamicPartitionsDefinition(name="file_batches")


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
