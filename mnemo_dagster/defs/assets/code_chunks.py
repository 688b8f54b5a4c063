"""``code_chunks``: one partition per file batch, indexed in its own step process."""

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.defs import tags
from mnemo_dagster.defs.partitions import file_batches
from mnemo_dagster.defs.resources import EmbeddingModel, IndexDatabase, IndexSettings
from mnemo_dagster.defs.watchdog import step_watchdog
from mnemo_dagster.errors import ConfigError, ModelMismatchError
from mnemo_dagster.indexing.batch import index_batch
from mnemo_dagster.indexing.batching import split_batch_key
from mnemo_dagster.indexing.sources import ensure_checkout

DATABASE_RETRY = RetryPolicy(max_retries=3, delay=2.0, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
"""For steps that touch the database or the model: 2 s, 4 s, 8 s (each +-jitter)."""

NIGHTLY_REINDEX_CRON = Settings.from_env().reindex_cron
"""When the scheduled backfill re-verifies every batch (nightly_reindex_sensor launches it). A condition
is part of the definitions, so MNEMO_REINDEX_CRON is read when the code location loads."""


@asset(
    partitions_def=file_batches,
    retry_policy=DATABASE_RETRY,
    kinds={"python", "postgres"},
    automation_condition=AutomationCondition.on_cron(NIGHTLY_REINDEX_CRON),
    description="Chunks of source code with their symbols and embeddings, one partition per file batch.",
)
def code_chunks(
    context: AssetExecutionContext,
    index_database: IndexDatabase,
    embedding_model: EmbeddingModel,
    index_settings: IndexSettings,
) -> MaterializeResult:
    store = index_database.get_store()
    embedder = embedding_model.get_embedder()
    try:
        store.ensure_schema(embedder.model_name, embedder.dimension)
        # A git source: this machine fetches the run's commit itself if its checkout is missing or elsewhere.
        ensure_checkout(store, split_batch_key(context.partition_key)[0], context.run.tags.get(tags.COMMIT))
        limits = index_settings.settings()
        with step_watchdog(
            limits.home,
            context.partition_key,
            limits.stall_seconds,
            context.run_id,
            context.get_step_execution_context().step.key,
        ) as heartbeat:
            report = index_batch(
                store,
                embedder,
                context.partition_key,
                max_file_bytes=limits.max_file_bytes,
                log=context.log.info,
                heartbeat=heartbeat,
            )
    except (ConfigError, ModelMismatchError) as exc:
        # A setting is wrong: retrying cannot help, and nothing has been written.
        raise Failure(description=str(exc), allow_retries=False) from exc
    finally:
        store.dispose()
    metadata: dict[str, object] = dict(report.as_metadata())
    if report.failures:
        problems = "\n".join(f"- `{path}`: {reason}" for path, reason in report.failures[:50])
        metadata["not_indexed"] = MetadataValue.md(problems)
        context.log.warning(f"{len(report.failures)} file(s) not indexed in {context.partition_key}")
    return MaterializeResult(metadata=metadata)
