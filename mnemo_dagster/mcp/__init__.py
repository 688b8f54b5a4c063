"""``mnemo mcp``: the MCP server for coding agents."""
