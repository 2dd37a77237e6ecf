"""Loopback deployments for the client and verify tests: real MCP servers behind a real nginx."""
