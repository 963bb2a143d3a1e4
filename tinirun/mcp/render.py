"""A run's result as MCP content: the text an agent reads, and its output images as images.

Pure functions of the client's models (no I/O), so they are tested as data.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from mcp.types import ContentBlock, ImageContent, TextContent

# Text output files up to this size are shown inline; larger ones are only listed.
INLINE_TEXT_BYTES = 64 * 1024
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-yaml")


def _flags(result: Any) -> list[str]:
    flags = []
    if result.timeout:
        flags.append("timed out (killed at its time limit)")
    if getattr(result, "oom_killed", False):
        flags.append("killed: out of memory (raise mem_limit_mb)")
    if getattr(result, "stdout_truncated", False):
        flags.append("stdout truncated")
    if getattr(result, "stderr_truncated", False):
        flags.append("stderr truncated")
    if getattr(result, "output_files_truncated", False):
        flags.append("output files truncated")
    return flags


def _field(file: Any, name: str) -> Any:
    return file.get(name) if isinstance(file, dict) else getattr(file, name, None)


def _content_bytes(file: Any) -> bytes:
    content = _field(file, "content")
    if isinstance(content, bytes):
        return content
    return base64.b64decode(content or "")


def result_text(result: Any) -> str:
    """What an agent reads of a run: the exit code, its flags, stdout and stderr."""
    code = "none (it did not exit by itself)" if result.exit_code is None else result.exit_code
    lines = [f"exit code: {code}"]
    flags = _flags(result)
    if flags:
        lines.append("flags: " + "; ".join(flags))
    duration = getattr(result, "duration_ms", None)
    if duration is not None:
        lines.append(f"duration: {duration} ms")
    lines.append("stdout:" + ("\n" + result.stdout if result.stdout else " (empty)"))
    lines.append("stderr:" + ("\n" + result.stderr if result.stderr else " (empty)"))
    return "\n".join(lines)


def output_blocks(files: Sequence[Any], omitted: Sequence[str] = ()) -> list[ContentBlock]:
    """Images as image content; small text files inline; the rest named with their size."""
    blocks: list[ContentBlock] = []
    listed: list[str] = []
    for file in files:
        path, media = str(_field(file, "path")), str(_field(file, "media_type") or "")
        data = _content_bytes(file)
        if media.startswith("image/"):
            blocks.append(TextContent(type="text", text=f"output file {path} ({media}):"))
            blocks.append(ImageContent(type="image", data=base64.b64encode(data).decode(),
                                       mime_type=media))
        elif media.startswith(TEXT_TYPES) and len(data) <= INLINE_TEXT_BYTES:
            text = data.decode(errors="replace")
            blocks.append(TextContent(type="text", text=f"output file {path}:\n{text}"))
        else:
            listed.append(f"{path} ({len(data)} bytes, {media or 'unknown type'})")
    if listed:
        blocks.append(TextContent(type="text", text="other output files: " + ", ".join(listed)))
    if omitted:
        blocks.append(TextContent(type="text", text="output files left out (over the cap): "
                                  + ", ".join(omitted)))
    return blocks


def result_content(result: Any) -> list[ContentBlock]:
    """The whole content of a run's tool result."""
    blocks: list[ContentBlock] = [TextContent(type="text", text=result_text(result))]
    blocks += output_blocks(getattr(result, "output_files", None) or [],
                            getattr(result, "output_files_omitted", None) or [])
    return blocks
