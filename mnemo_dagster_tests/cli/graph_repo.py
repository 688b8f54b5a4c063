"""``fixtures/graph_repo`` indexed through the command line, for the commands that ask about its graph."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mnemo_dagster.cli import cli

GRAPH_REPO = Path(__file__).parents[1] / "fixtures" / "graph_repo"


def index_graph_repo(tmp_path_factory: pytest.TempPathFactory, name: str) -> str:
    """A copy of ``fixtures/graph_repo`` indexed in-process into the session's index as ``name`` (each
    test module its own name, so none sees another's); returns ``name``."""
    root = tmp_path_factory.mktemp(name) / "graph_repo"
    shutil.copytree(GRAPH_REPO, root)
    result = CliRunner().invoke(cli, ["index", str(root), "--name", name, "--in-process", "--json"])
    assert result.exit_code == 0, result.output
    return name
