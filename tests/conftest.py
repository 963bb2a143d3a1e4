"""Shared fixtures: a real Redis server when a test asks for one."""

from __future__ import annotations
