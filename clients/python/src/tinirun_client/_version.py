"""The client's version (its distribution's, tinirun-client)."""

__version__ = "0.1.0"
