"""The CLI's pure parts: where --out writes a file, which URL is this machine's, and tables."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from tinirun_client import OutputFile, RunResult

from tinirun.cli._doctor import is_local
from tinirun.cli._output import Style, print_table
from tinirun.cli._run import output_path, write_output_files


@pytest.mark.parametrize(("path", "expected"), [
    ("out/plot.png", "plot.png"), ("out/a/b.txt", "a/b.txt"), ("report.csv", "report.csv"),
    ("out", "out"),
])
def test_output_paths_are_below_out(path: str, expected: str) -> None:
    assert str(output_path(path)) == expected


@pytest.mark.parametrize("path", ["/etc/passwd", "out/../../x", "../x", ""])
def test_output_paths_never_leave_the_folder(path: str) -> None:
    with pytest.raises(ValueError):
        output_path(path)


def test_output_files_are_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = (OutputFile(path="out/a/b.bin", size=2, media_type="application/octet-stream",
                        content=b"\x00\xff"),
             OutputFile(path="../evil", size=1, media_type="text/plain", content=b"x"))
    result = RunResult(stdout="", stderr="", exit_code=0, timeout=False, output_files=files,
                       output_files_truncated=True, output_files_omitted=("out/big",))
    write_output_files(result, tmp_path / "results")
    assert (tmp_path / "results" / "a" / "b.bin").read_bytes() == b"\x00\xff"
    assert not (tmp_path / "evil").exists()
    err = capsys.readouterr().err
    assert "wrote 1 output file to" in err and "out/big" in err and "'../evil'" in err


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8082/api", True), ("http://localhost:1/api", True),
    ("http://[::1]:8082/api", True), ("http://10.0.0.5:8082/api", False),
    ("https://runner.example/api", False),
])
def test_which_urls_are_this_machine(url: str, local: bool) -> None:
    assert is_local(url) is local


def test_tables_align_the_text_and_not_the_colour(capsys: pytest.CaptureFixture[str]) -> None:
    style = Style(io.StringIO())
    style.color = True
    print_table(("NAME", "STATUS", "V"), [("a", "ready", "1"), ("longer", "x", "")], style,
                paint={1: lambda text: f"<{text}>"})
    assert capsys.readouterr().out.splitlines() == [
        "\x1b[2mNAME    STATUS  V\x1b[0m",
        "a       <ready>   1",  # painted: widths count "ready" alone
        "longer  <x>",
    ]
