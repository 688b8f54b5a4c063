"""One dynamic partition per file batch; keys look like ``<repository>__0001``."""

from __future__ import annotations

from dagster import DynamicPartitionsDefinition

file_batches = DynamicPartitionsDefinition(name="file_batches")
