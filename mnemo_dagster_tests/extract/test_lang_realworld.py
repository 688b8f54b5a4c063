"""Larger files written in the style of well-known projects (Redis, Laravel, Polly, poolboy...) index
cleanly in every added language: no exception, no syntax warning, every line in a chunk, the named
symbols found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mnemo_dagster.extract.file import parse_file
from mnemo_dagster.extract.languages import language_for

REALWORLD = Path(__file__).parents[1] / "fixtures" / "realworld"

EXPECTED = {
    "sds.c": ("c", {"sdshdr", "sds_header", "sdsnewlen", "sdsMakeRoomFor", "sdscatprintf"}),
    "json_writer.cpp": (
        "cpp",
        {"escape", "Value", "Value.is_null", "Value.dump", "Value.write", "Writer.put"},
    ),
    "HttpRetryHandler.cs": (
        "c_sharp",
        {"RetryOptions", "IBackoff", "ExponentialBackoff.Delay", "HttpRetryHandler.SendAsync"},
    ),
    "Paging.kt": (
        "kotlin",
        {"LoadResult", "LoadResult.Page", "PagingSource.load", "Pager.pages", "chunkedPages"},
    ),
    "RateLimiter.scala": (
        "scala",
        {"Clock", "Rate.intervalNanos", "RateLimiter.tryAcquire", "RateLimiter.acquire"},
    ),
    "rack_throttle.rb": (
        "ruby",
        {
            "Rack.Throttle.Limit.key_for",
            "Rack.Throttle.Middleware.call",
            "Rack.Throttle.Middleware.exceeded?",
        },
    ),
    "Paginator.php": (
        "php",
        {"Paginator", "Paginator.lastPage", "Paginator.nextPageUrl", "Paginator.jsonSerialize"},
    ),
    "lru.lua": ("lua", {"LRU", "new_node", "LRU.new", "LRU.get", "LRU.set"}),
    "install.sh": ("shell", {"say", "err", "need_cmd", "detect_arch", "download", "main"}),
    "plug_router.ex": ("elixir", {"MyApp.Router", "MyApp.Router.validate", "MyApp.Router.send_json"}),
    "Queue.hs": ("haskell", {"Queue", "empty", "push", "pop", "check", "toList", "Queue.fmap"}),
    "lru_cache.ml": ("ocaml", {"Make", "Make.create", "Make.evict", "Make.find", "Make.add", "String_cache"}),
    "poolboy_worker.erl": ("erlang", {"state", "start_link", "checkout", "handle_call", "return_worker"}),
    "Tiny.pm": ("perl", {"new", "request", "_is_transient", "_backoff"}),
    "summarise.R": ("r", {"summarise_groups", "standard_error", "Experiment", "plot_groups"}),
    "Interval.jl": (
        "julia",
        {"Intervals.Interval", "Intervals.width", "Intervals.intersect", "Intervals.hull"},
    ),
    "AFNetworkReachability.m": (
        "objc",
        {
            "StatusForFlags",
            "ReachabilityManager",
            "ReachabilityManager.sharedManager",
            "ReachabilityManager.updateStatus",
        },
    ),
}


def test_every_realworld_file_has_expectations() -> None:
    assert {path.name for path in REALWORLD.iterdir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_realworld_file_indexes_cleanly(name: str) -> None:
    language, symbols = EXPECTED[name]
    spec = language_for(name)
    assert spec is not None and spec.name == language
    data = (REALWORLD / name).read_bytes()
    parsed = parse_file(name, data, language)

    assert parsed.warnings == ()
    assert symbols <= {s.path for s in parsed.symbols}
    assert {r.kind for r in parsed.references} >= {"calls"}
    lines = data.decode().splitlines()
    covered = {line for c in parsed.chunks for line in range(c.start_line, c.end_line + 1)}
    assert {i for i, line in enumerate(lines, 1) if line.strip()} <= covered
    for chunk in parsed.chunks:
        assert chunk.content == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
