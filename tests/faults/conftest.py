"""The fault suite: the shared real engine and server factory (tests/conftest.py)."""
