"""The Dagster code location: assets, checks, sensors, resources, executors (only what Dagster loads)."""
