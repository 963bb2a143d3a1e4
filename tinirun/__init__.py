"""tinirun: run code snippets in ephemeral, hardened Docker containers behind an HTTP API."""

__version__ = "0.1.0"
