"""How many tokens a text costs in a language model's context window, estimated without a tokenizer.

About four characters a token for code and English (the ratio of the common BPE tokenizers); words
and symbols count at least one each, so short dense text is not undercounted.
"""

from __future__ import annotations

import re

CHARS_PER_TOKEN = 4.0
_PIECES = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """The estimated token count of ``text`` (0 for an empty text)."""
    if not text:
        return 0
    return max(round(len(text) / CHARS_PER_TOKEN), len(_PIECES.findall(text)) // 2, 1)


def truncate_to_tokens(text: str, budget: int, marker: str = "\n…") -> str:
    """``text`` cut at a line end so that it fits ``budget`` tokens, with ``marker`` where it was cut."""
    if estimate_tokens(text) <= budget:
        return text
    kept: list[str] = []
    used = estimate_tokens(marker)
    for line in text.splitlines():
        cost = estimate_tokens(line + "\n")
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept) + marker
