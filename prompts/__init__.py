"""Agent and MCP prompts, kept as Markdown data files (read with importlib.resources)."""
