"""The assets: ``code_chunks`` (one partition per file batch), ``graph_nodes`` and ``graph_metrics`` (one
partition per repository)."""
