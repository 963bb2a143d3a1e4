"""Dependencies are package names, never locations: one grammar per package manager.

Each checker takes one entry (already within the contract's characters) and returns None when
it is a package name with an optional version (and extras, or cargo's feature options), or a
short reason why not. A URL, a VCS spec, `name @ url`, a path, an archive, an alias or an
option the manager does not allow never passes. Python's entries are parsed with the
`packaging` library's requirement grammar, the one pip itself uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from packaging.requirements import InvalidRequirement, Requirement

# File names that pip, npm and apt would read as a local archive rather than a name.
_ARCHIVE = re.compile(r"\.(whl|zip|tar|tgz|tbz|txz|tlz|gz|bz2|xz|lz|lzma|deb|crate)$", re.I)


def pip(entry: str) -> str | None:
    try:
        requirement = Requirement(entry)
    except InvalidRequirement:
        return "not a requirement of the form name[extras]<specifier>"
    if requirement.url is not None:
        return "a URL or path (name @ location) is not allowed"
    if requirement.marker is not None:
        return "environment markers are not allowed"
    if _ARCHIVE.search(requirement.name):
        return "an archive file name is not allowed"
    return None


# npm: an optional @scope/, a name of URL-safe characters not starting with . or _.
_NPM_NAME = r"(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*"
# A version, a range of the contract's characters (no spaces, so no `||`) or a dist-tag.
_NPM_SPEC = r"[0-9A-Za-z.^~<>=*+-]+"
_NPM = re.compile(rf"(?P<name>{_NPM_NAME})(?:@(?P<spec>{_NPM_SPEC}))?")


def npm(entry: str) -> str | None:
    match = _NPM.fullmatch(entry)
    if match is None:
        if ":" in entry:
            return "a URL, alias (npm:), git, github: or file: spec is not allowed"
        if "/" in entry and not entry.startswith("@"):
            return "a path or owner/repo spec is not allowed"
        return "not a package name with an optional @version, @range or @tag"
    if len(match["name"]) > 214:
        return "the package name is longer than 214 characters"
    if _ARCHIVE.search(match["name"]) and match["spec"] is None:
        return "an archive file name is not allowed"
    return None


# go: a module path whose first element names a host (it holds a dot), elements not starting
# with a dot; an optional @version: a semantic version, a query word or a commit hash.
_GO_ELEMENT = r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*"
_GO_VERSION = (r"(?:latest|upgrade|patch|none|[0-9a-f]{7,40}|"
               r"v[0-9]+(?:\.[0-9]+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)")
_GO = re.compile(rf"[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/{_GO_ELEMENT})*(?:@{_GO_VERSION})?")


def go(entry: str) -> str | None:
    if _GO.fullmatch(entry) is None:
        return "not a module path (host/path) with an optional @version"
    if any(part in ("", ".", "..") for part in entry.split("@")[0].split("/")):
        return "a module path has no empty, '.' or '..' element"
    return None


# cargo add: name, name@version, name=version (the original's style), name/feature; and the
# feature options, whose value is a feature name (or crate/feature).
_CRATE = r"[A-Za-z][A-Za-z0-9_-]{0,63}"
_FEATURE = r"[A-Za-z0-9_][A-Za-z0-9_.+-]*"
_CARGO = re.compile(rf"{_CRATE}(?:[@=][0-9A-Za-z.^~<>=*+-]+|/{_FEATURE})?")
_CARGO_FEATURES = re.compile(rf"(?:{_CRATE}/)?{_FEATURE}")
CARGO_VALUE_OPTIONS = ("--features", "-F")
CARGO_FLAGS = ("--no-default-features", "--default-features", "--optional")


def cargo(entry: str) -> str | None:
    if _CARGO.fullmatch(entry) is None:
        return "not a crate name with an optional @version, =version or /feature"
    return None


def cargo_feature(entry: str) -> str | None:
    if _CARGO_FEATURES.fullmatch(entry) is None:
        return "not a feature name"
    return None


# apt: a Debian package name with an optional =version (epoch:upstream-revision).
_APT = re.compile(r"[a-z0-9][a-z0-9.+-]+(?:=[0-9A-Za-z.+~:-]+)?")


def apt(entry: str) -> str | None:
    if _APT.fullmatch(entry) is None:
        return "not a Debian package name with an optional =version"
    if _ARCHIVE.search(entry.split("=")[0]):
        return "an archive file name is not allowed"
    return None


CHECKERS: dict[str, Callable[[str], str | None]] = {
    "pip": pip, "npm": npm, "go": go, "cargo": cargo, "apt": apt,
}
