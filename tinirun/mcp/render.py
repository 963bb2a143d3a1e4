"""A run's result as MCP content: the text an agent reads, and its output images as images.

Pure functions of the client's models (no I/O), so they are tested as data.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from mcp.types import ContentBlock, ImageContent, TextContent
from tinirun_client import OutputFile, RunResult

# Text output files up to this size are shown inline; larger ones are only listed.
INLINE_TEXT_BYTES = 64 * 1024
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-yaml")


def _flags(result: RunResult) -> list[str]:
    flags = []
    if result.timeout:
        flags.append("timed out (killed at its time limit)")
    if result.oom_killed:
        flags.append("killed: out of memory (raise mem_limit_mb)")
    if result.stdout_truncated:
        flags.append("stdout truncated")
    if result.stderr_truncated:
        flags.append("stderr truncated")
    if result.output_files_truncated:
        flags.append("output files truncated")
    return flags


def result_text(result: RunResult) -> str:
    """What an agent reads of a run: the exit code, its flags, stdout and stderr."""
    code = "none (it did not exit by itself)" if result.exit_code is None else result.exit_code
    lines = [f"exit code: {code}"]
    flags = _flags(result)
    if flags:
        lines.append("flags: " + "; ".join(flags))
    if result.duration_ms is not None:
        lines.append(f"duration: {result.duration_ms} ms")
    lines.append("stdout:" + ("\n" + result.stdout if result.stdout else " (empty)"))
    lines.append("stderr:" + ("\n" + result.stderr if result.stderr else " (empty)"))
    return "\n".join(lines)


def output_blocks(files: Sequence[OutputFile], omitted: Sequence[str] = ()
                  ) -> list[ContentBlock]:
    """Images as image content; small text files inline; the rest named with their size."""
    blocks: list[ContentBlock] = []
    listed: list[str] = []
    for file in files:
        path, media, data = file.path, file.media_type, file.content
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


def result_content(result: RunResult) -> list[ContentBlock]:
    """The whole content of a run's tool result."""
    blocks: list[ContentBlock] = [TextContent(type="text", text=result_text(result))]
    return blocks + output_blocks(result.output_files, result.output_files_omitted)
