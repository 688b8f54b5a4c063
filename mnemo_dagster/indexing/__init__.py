"""Indexing a repository: discover its files, plan batches, index a batch, run a pass, build its graph.

The order of a pass: :mod:`.targets` -> :mod:`.sources` -> :mod:`.discovery` -> :mod:`.planning`
(with :mod:`.batching`) -> :mod:`.batch` (through :mod:`.pipeline`, beating :mod:`.heartbeat`) ->
:mod:`.graph_build`; :mod:`.passes` owns that order and :mod:`.runners` runs it without Dagster."""
