"""The MCP server: tinirun's runs and functions as tools for LLM agents (Model Context
Protocol, the official `mcp` SDK). It talks to a tinirun service through the Python client,
over HTTP (`tinirun mcp`, on stdio) or in-process (`/mcp` on the service itself)."""

from tinirun.mcp.tools import ClientFactory, build_server

__all__ = ["ClientFactory", "build_server"]
