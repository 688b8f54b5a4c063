"""An agent's session with ``mnemo mcp``, timed from a cold start: the MCP SDK's own stdio client starts
the server, then calls the tools in the order an agent would, printing each call, its latency and
(with ``--show``) its answer.

It measures what the issue asks of the server: the first graph and status answers after a cold start
(the model is not needed for them), and warm search latency (p50/p95 over ``--searches`` queries once
the model has loaded in the background).

    python benchmarks/mcp_session.py --repository NAME --symbol NAME [--focus PATH] [--show]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

import anyio
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

QUERIES = (
    "retry with backoff",
    "parse the command line arguments",
    "open a database connection",
    "read a file and split it into chunks",
    "render a progress bar",
    "handle an interrupt signal",
    "compute pagerank of a graph",
    "load the embedding model",
)


async def _timed(session: ClientSession, tool: str, **arguments: Any) -> tuple[float, bool, Any]:
    started = time.perf_counter()
    result = await session.call_tool(tool, arguments)
    seconds = time.perf_counter() - started
    answer = result.content[0].text if result.is_error else result.structured_content
    return seconds, bool(result.is_error), answer


def _show(answer: Any, limit: int = 1500) -> str:
    if isinstance(answer, dict) and "text" in answer:
        return answer["text"][:limit]
    text = json.dumps(answer, indent=1)
    return text[:limit] + ("\n..." if len(text) > limit else "")


async def session(args: argparse.Namespace) -> dict[str, Any]:
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "mnemo_dagster.cli", "mcp"], env=dict(os.environ)
    )
    started = time.perf_counter()
    timings: dict[str, float] = {}
    with open(os.devnull, "w") as errlog:
        async with stdio_client(server, errlog=errlog) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            timings["initialize (from start)"] = time.perf_counter() - started
            calls: list[tuple[str, dict[str, Any]]] = [
                ("index_status", {"repository": args.repository, "check_disk": False}),
                (
                    "repo_map",
                    {"repository": args.repository, "token_budget": 512, "focus": args.focus or None},
                ),
                ("symbol", {"name": args.symbol, "repository": args.repository, "body_tokens": 200}),
                ("references", {"name": args.symbol, "repository": args.repository, "limit": 5}),
                ("impact", {"repository": args.repository, "symbols": [args.symbol], "depth": 2, "limit": 8}),
            ]
            for tool, arguments in calls:
                arguments = {k: v for k, v in arguments.items() if v is not None}
                seconds, error, answer = await _timed(client, tool, **arguments)
                timings.setdefault("first graph/status answer (from start)", time.perf_counter() - started)
                timings[tool] = seconds
                flag = ", error" if error else ""
                print(f"\n>>> {tool} {json.dumps(arguments)}  [{seconds * 1000:.0f} ms{flag}]")
                if args.show:
                    print(_show(answer))
            first_search, _, answer = await _timed(
                client, "search", query=QUERIES[0], repository=args.repository, limit=5
            )
            timings["first search"] = first_search
            print(f"\n>>> search {QUERIES[0]!r}  [{first_search * 1000:.0f} ms]")
            if args.show:
                print(_show(answer))
            warm = []
            for index in range(args.searches):
                seconds, _, _ = await _timed(
                    client,
                    "search",
                    query=QUERIES[index % len(QUERIES)],
                    repository=args.repository,
                    limit=10,
                )
                warm.append(seconds)
            warm.sort()
            timings["warm search p50"] = statistics.median(warm)
            timings["warm search p95"] = warm[max(0, round(0.95 * len(warm)) - 1)]
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repository", required=True)
    parser.add_argument("--symbol", required=True, help="a symbol to read, follow and assess")
    parser.add_argument("--focus", action="append", help="repo_map focus (repeatable)")
    parser.add_argument("--searches", type=int, default=40)
    parser.add_argument("--show", action="store_true", help="print each answer")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    timings = anyio.run(session, args)
    print("\nlatency")
    for name, seconds in timings.items():
        print(f"  {name:<42} {seconds * 1000:8.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
