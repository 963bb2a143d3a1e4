"""The labels the service puts on every container and image it makes, in one place.

Every object carries `SERVICE`; `OWNER` names the installation that made it (so a restart
finds what a crash left behind without touching another installation's); `KIND` says what it
is; runtime and dependency images carry `LANG`, function images `FUNCTION` and `VERSION`.
"""

from __future__ import annotations

from enum import StrEnum

SERVICE = "tinirun"
OWNER = "tinirun.owner"
KIND = "tinirun.kind"
LANG = "tinirun.lang"
FUNCTION = "tinirun.function"
VERSION = "tinirun.version"
# On a build container: the tag of the image it builds.
BUILDING = "tinirun.building"


class Kind(StrEnum):
    """Values of the `KIND` label."""

    RUN = "run"
    RUNTIME = "runtime"
    DEPENDENCIES = "dependencies"
    FUNCTION = "function"
    BUILD = "build"  # a container that builds a dependency or function image
    PROXY = "proxy"  # the egress proxy of installs, and its image and network


def selector(key: str, value: str | None = None) -> str:
    """An engine label filter: `key` alone, or `key=value`."""
    return key if value is None else f"{key}={value}"
