"""What an agent gets of a run: text with the exit code and flags, images as image content."""

from __future__ import annotations

import base64

from mcp.types import ImageContent, TextContent
from tinirun_client import RunResult

from tinirun.mcp.render import result_content, result_text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def result(**fields: object) -> RunResult:
    base: dict[str, object] = {"stdout": "", "stderr": "", "exit_code": 0, "timeout": False}
    return RunResult.from_json({**base, **fields})


def test_text_says_exit_code_flags_and_both_streams() -> None:
    text = result_text(result(stdout="out\n", stderr="err\n", exit_code=None, timeout=True,
                              oom_killed=True, stdout_truncated=True))
    assert "exit code: none" in text
    assert "timed out" in text and "out of memory" in text and "stdout truncated" in text
    assert "stdout:\nout\n" in text and "stderr:\nerr\n" in text
    assert "flags" not in result_text(result(stdout="ok"))


def test_output_images_are_image_content_and_text_files_inline() -> None:
    files = result(output_files=[
            {"path": "out/plot.png", "size": len(PNG), "media_type": "image/png",
             "content": base64.b64encode(PNG).decode()},
            {"path": "out/data.csv", "size": 4, "media_type": "text/csv",
             "content": base64.b64encode(b"a,b\n").decode()},
            {"path": "out/blob.bin", "size": 3, "media_type": "application/octet-stream",
             "content": base64.b64encode(b"\x00\x01\x02").decode()},
    ], output_files_truncated=True, output_files_omitted=["out/huge.bin"])
    blocks = result_content(files)
    images = [b for b in blocks if isinstance(b, ImageContent)]
    assert len(images) == 1 and images[0].mime_type == "image/png"
    assert base64.b64decode(images[0].data) == PNG
    text = "\n".join(b.text for b in blocks if isinstance(b, TextContent))
    assert "output file out/data.csv:\na,b" in text
    assert "out/blob.bin (3 bytes, application/octet-stream)" in text
    assert "out/huge.bin" in text and "output files truncated" in text
