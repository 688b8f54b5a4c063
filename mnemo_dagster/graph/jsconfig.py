"""``compilerOptions.paths`` and ``baseUrl`` of a repository's ``tsconfig.json``/``jsconfig.json``.

TypeScript resolves a non-relative specifier through the ``paths`` of the nearest config first
(``"@app/*": ["src/app/*"]``, at most one ``*``), then against ``baseUrl``. A config's ``extends`` is
not followed. The files are JSON with comments and trailing commas, which :func:`parse_js_configs`
tolerates; a config that still does not parse is ignored.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass

CONFIG_NAME = re.compile(r"(^|/)[tj]sconfig[^/]*\.json$")
"""File names read as JavaScript/TypeScript project configs."""

_COMMENTS = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMAS = re.compile(r",(\s*[}\]])")


@dataclass(frozen=True, slots=True)
class JsConfig:
    """The module-resolution options of one config file."""

    folder: str
    """The folder holding the config, relative to the repository root (``""`` at the root)."""
    base: str | None
    """``baseUrl`` relative to the repository root, or None when the config sets none."""
    paths: tuple[tuple[str, tuple[str, ...]], ...]
    """(pattern, target patterns) in the config's order; targets are relative to the repository root."""


@dataclass(frozen=True, slots=True)
class JsPaths:
    """The configs of a repository, deepest folder first."""

    configs: tuple[JsConfig, ...] = ()

    def stems(self, spec: str, importer: str) -> list[str]:
        """Paths (maybe without extension) a non-relative specifier may name, by the nearest config."""
        for config in self.configs:
            if config.folder and not importer.startswith(f"{config.folder}/"):
                continue
            found: list[str] = []
            for pattern, targets in config.paths:
                star = _match(pattern, spec)
                if star is not None:
                    found += [posixpath.normpath(t.replace("*", star, 1)) for t in targets]
            if config.base is not None:
                found.append(posixpath.normpath(posixpath.join(config.base, spec)))
            return [stem for stem in found if not stem.startswith("..")]
        return []


def _match(pattern: str, spec: str) -> str | None:
    """What ``*`` stands for when ``spec`` matches ``pattern`` (``""`` for an exact match), else None."""
    if "*" not in pattern:
        return "" if pattern == spec else None
    prefix, _, suffix = pattern.partition("*")
    fits = spec.startswith(prefix) and spec.endswith(suffix) and len(spec) >= len(prefix) + len(suffix)
    return spec[len(prefix) : len(spec) - len(suffix)] if fits else None


def parse_js_configs(texts: Mapping[str, str]) -> JsPaths:
    """The options of config files given as path -> text (paths relative to the repository root)."""
    configs = []
    for path, text in sorted(texts.items()):
        try:
            data = json.loads(_TRAILING_COMMAS.sub(r"\1", _COMMENTS.sub(lambda m: m.group(1) or "", text)))
        except ValueError:
            continue
        options = data.get("compilerOptions") if isinstance(data, dict) else None
        if not isinstance(options, dict):
            continue
        folder = posixpath.dirname(path)
        base_url = options.get("baseUrl")
        base = posixpath.normpath(posixpath.join(folder, base_url)) if isinstance(base_url, str) else None
        root = base if base is not None else folder
        paths = options.get("paths") if isinstance(options.get("paths"), dict) else {}
        mapped = tuple(
            (pattern, tuple(posixpath.join(root, t) for t in targets if isinstance(t, str)))
            for pattern, targets in paths.items()
            if isinstance(targets, list)
        )
        configs.append(JsConfig(folder, base, mapped))
    configs.sort(key=lambda c: -c.folder.count("/") - bool(c.folder))
    return JsPaths(tuple(configs))
