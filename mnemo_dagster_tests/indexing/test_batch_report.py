"""The one record of a batch keeps every field through each way it travels."""

import json

from mnemo_dagster.indexing.report import COUNTERS, TIMINGS, BatchReport

REPORT = BatchReport(
    "shop__0001",
    files_indexed=3,
    files_unchanged=1,
    files_failed=1,
    files_skipped=2,
    chunks=12,
    embeddings_computed=10,
    embeddings_reused=2,
    seconds=4.0,
    encode_seconds=2.5,
    load_seconds=0.5,
    parse_seconds=0.75,
    write_seconds=0.25,
    peak_rss_mb=512.25,
    failures=[("bad.py", "invalid UTF-8")],
    warnings=[("big.py", "cut at 1 MiB")],
)


def test_metadata_uses_the_records_own_names_and_reads_back() -> None:
    metadata = REPORT.as_metadata()
    assert set(metadata) == {*COUNTERS, *TIMINGS, "chunks_per_second", "model_preloaded"}
    assert metadata["embeddings_computed"] == 10 and metadata["chunks_per_second"] == 3.0
    back = BatchReport.from_metadata("shop__0001", True, metadata, errors=["x"], run_id="r1")
    assert [getattr(back, name) for name in COUNTERS] == [getattr(REPORT, name) for name in COUNTERS]
    assert back.peak_rss_mb == 512.2 and back.errors == ("x",) and back.run_id == "r1"


def test_json_round_trip_is_exact() -> None:
    failed = BatchReport.failed("shop__0002", "step crashed", "stalled: no progress", seconds=1.5)
    for report in (REPORT, failed):
        assert BatchReport.from_json(json.loads(json.dumps(report.as_json()))) == report
    assert failed.success is False and failed.errors == ("step crashed", "stalled: no progress")
