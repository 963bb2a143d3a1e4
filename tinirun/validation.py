"""Rules on user input that the schema alone cannot state: dependency strings and file paths.

Each failure raises InvalidRequestError with a message that names the field and the culprit.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from tinirun.dependencies import CARGO_VALUE_OPTIONS, CHECKERS, cargo_feature
from tinirun.errors import InvalidBodyError, InvalidRequestError
from tinirun.languages import Language
from tinirun.models import FileSpec

# The contract's characters for a dependency string.
_DEPENDENCY_CHARS = re.compile(r"[A-Za-z0-9_\-./:@^~><=\[\]]")
MAX_DEPENDENCIES = 100
MAX_DEPENDENCY_LENGTH = 200
MAX_FILE_PATH_LENGTH = 255
# A file name's limit on Linux file systems, in bytes (a character may take up to four).
MAX_PATH_COMPONENT_BYTES = 255


def validate_dependencies(language: Language, dependencies: Sequence[str] | None) -> list[str]:
    """Check each dependency and return the normalised list (the key of its image).

    Each entry is within the contract's characters and is a package name in the grammar of
    the language's package manager (`tinirun.dependencies`): never a URL, path or option,
    except the options the language allows (rust's `--features` and friends, passed to
    `cargo add`, with the feature name that follows them).
    """
    if not dependencies:
        return []
    if len(dependencies) > MAX_DEPENDENCIES:
        raise InvalidRequestError(f"dependencies: at most {MAX_DEPENDENCIES} entries are allowed")
    check = CHECKERS.get(language.dependency_manager)
    cleaned: list[str] = []
    expects_value = False
    for raw in dependencies:
        dep = raw.strip()
        if not dep:
            raise InvalidRequestError("dependencies: an entry is empty")
        if len(dep) > MAX_DEPENDENCY_LENGTH:
            raise InvalidRequestError(
                f"dependencies: {dep[:40]!r}... is longer than {MAX_DEPENDENCY_LENGTH} characters"
            )
        for char in dep:
            if not _DEPENDENCY_CHARS.fullmatch(char):
                raise InvalidRequestError(
                    f"Invalid dependency {dep!r}: character {char!r} is not allowed"
                )
        if expects_value:
            _refuse(dep, cargo_feature(dep))
            expects_value = False
        elif dep.startswith("-"):
            option, has_value, value = dep.partition("=")
            if option not in language.dependency_options:
                raise InvalidRequestError(
                    f"Invalid dependency {dep!r}: options are not allowed for {language.name}"
                    + (
                        f" (allowed: {', '.join(language.dependency_options)})"
                        if language.dependency_options
                        else ""
                    )
                )
            if option in CARGO_VALUE_OPTIONS:
                if has_value:
                    _refuse(dep, cargo_feature(value))
                else:
                    expects_value = True
            elif has_value:
                _refuse(dep, f"{option} takes no value")
        elif check is not None:
            _refuse(dep, check(dep))
        cleaned.append(dep)
    if expects_value:
        raise InvalidRequestError(f"Invalid dependency {cleaned[-1]!r}: a feature name must follow")
    if language.keep_dependency_order:
        return cleaned
    return sorted(set(cleaned))


def _refuse(dep: str, reason: str | None) -> None:
    if reason is not None:
        raise InvalidRequestError(f"Invalid dependency {dep!r}: {reason}")


def validate_files(files: Sequence[FileSpec] | None) -> list[tuple[str, bytes]]:
    """Check each attached file and return (relative path, content) pairs."""
    if not files:
        return []
    decoded: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for index, spec in enumerate(files):
        where = f"files[{index}].path"
        path = spec.path
        if not path:
            raise InvalidBodyError(f"{where}: the path is empty")
        if len(path) > MAX_FILE_PATH_LENGTH:
            raise InvalidBodyError(f"{where}: longer than {MAX_FILE_PATH_LENGTH} characters")
        if "\x00" in path:
            raise InvalidBodyError(f"{where}: contains a NUL character")
        if "\\" in path:
            raise InvalidBodyError(f"{where}: {path!r} contains a backslash")
        if path.startswith("/"):
            raise InvalidBodyError(f"{where}: {path!r} must be relative")
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise InvalidBodyError(
                f"{where}: {path!r} has an empty, '.' or '..' component"
            )
        for part in parts:
            if len(part.encode()) > MAX_PATH_COMPONENT_BYTES:
                raise InvalidBodyError(
                    f"{where}: the component {part[:20]!r}... is longer than "
                    f"{MAX_PATH_COMPONENT_BYTES} bytes in UTF-8"
                )
        if PurePosixPath(path).name == "Dockerfile" or parts[0] == "Dockerfile":
            raise InvalidBodyError(f"{where}: {path!r} is not allowed")
        if path in seen:
            raise InvalidBodyError(f"{where}: {path!r} is given twice")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in seen:
                raise InvalidBodyError(f"{where}: {path!r} lies under another file")
        if any(other.startswith(path + "/") for other in seen):
            raise InvalidBodyError(f"{where}: another file lies under {path!r}")
        seen.add(path)
        try:
            content = base64.b64decode(spec.content, validate=True)
            # Python accepts surplus padding and stray bits; standard base64 does not.
            if base64.b64encode(content).decode() != spec.content:
                raise ValueError("not canonical")
        except (binascii.Error, ValueError):
            raise InvalidBodyError(
                f"files[{index}].content: not valid base64 ({path!r})"
            ) from None
        decoded.append((path, content))
    return decoded
