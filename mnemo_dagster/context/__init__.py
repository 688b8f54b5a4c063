"""Context for coding agents: a repo map, a symbol with its references, change impact, freshness.

Answers are sized for a context window: each takes a token budget (:mod:`.tokens`).
"""
