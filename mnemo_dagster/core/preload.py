"""Imported once by the executor's fork server so that step processes start warm."""

from __future__ import annotations

import sentence_transformers  # noqa: F401  (heavy: pulls in torch and transformers)
import tree_sitter_languages  # noqa: F401
