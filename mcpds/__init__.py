"""mcpds: the command-line tools of mcp-datascience (`python -m mcpds --help`)."""
