"""Output files: what a run wrote under its output globs, taken from the tar its boot command
sends after the program's exit (tinirun/runner/boot.py), matched and capped here.

Only regular files reach the tar (a symbolic link is never followed); each path must match
one of the request's globs (relative to the work directory; `**` spans directories); at most
`max_files` files and `max_bytes` bytes of content are kept, in path order, and the rest are
named in `omitted`.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from tinirun.models import OutputFile

DEFAULT_GLOBS = ("out/**",)
# Defaults of RUNNER_OUTPUT_MAX_FILES and RUNNER_OUTPUT_MAX_BYTES.
MAX_OUTPUT_FILES = 50
MAX_OUTPUT_BYTES = 8 * 1024 * 1024


@dataclass
class Collected:
    """The output files of one run, as the result gives them."""

    files: list[OutputFile] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)
    truncated: bool = False


@cache
def _regex(glob: str) -> re.Pattern[str]:
    """A glob as a regular expression: `**` any number of path segments, `*` and `?` within
    one, `[...]` a class."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 1:]:
            end = glob.index("]", i + 1)
            out.append("[" + re.escape(glob[i + 1:end]).replace("\\-", "-") + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def matches(path: str, globs: Sequence[str]) -> bool:
    return any(_regex(glob).fullmatch(path) for glob in globs)


def collect(tar: bytes, globs: Sequence[str], max_files: int, max_bytes: int) -> Collected:
    """The files of `tar` that match `globs`, within the caps."""
    result = Collected()
    if not tar:
        return result
    found: list[tuple[str, bytes | None]] = []
    try:
        with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
            for member in archive:
                name = member.name.removeprefix("./")
                if not member.isreg() or not matches(name, globs):
                    continue
                try:
                    extracted = archive.extractfile(member)
                    found.append((name, extracted.read() if extracted else None))
                except (tarfile.TarError, OSError, EOFError):
                    found.append((name, None))  # cut off by the size cap in the container
    except (tarfile.TarError, OSError, EOFError):
        result.truncated = True
    used = 0
    for name, content in sorted(found):
        if content is None or len(result.files) >= max_files or used + len(content) > max_bytes:
            result.omitted.append(name)
            result.truncated = True
            continue
        used += len(content)
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        result.files.append(OutputFile(path=name, size=len(content), media_type=media_type,
                                       content=base64.b64encode(content).decode()))
    return result
