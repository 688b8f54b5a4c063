"""Client-side Dagster: runs a pass's batches as Dagster runs (the runner, run workers, the step server)."""
