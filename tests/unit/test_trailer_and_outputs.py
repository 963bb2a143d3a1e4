"""The end of a run without the engine: the end marker found in the output however it is
split, the trailer read, and the output files matched against the globs and capped."""

from __future__ import annotations

import base64
import io
import tarfile

import pytest

from tinirun.engine.output import EndScanner, read_trailer
from tinirun.runner import boot
from tinirun.runner.outputs import collect, matches

MARK = boot.marker("0123abcd")


def scan(frames: list[bytes]) -> tuple[bytes, EndScanner]:
    scanner = EndScanner(MARK)
    out = b"".join(scanner.feed(frame) for frame in frames)
    return out, scanner


@pytest.mark.parametrize("cut", range(1, len(MARK) + 8))
def test_marker_split_anywhere_is_found_and_nothing_of_the_output_is_lost(cut: int) -> None:
    stream = b"hello\x00\x1etinirun" + MARK + b"0 0\n"
    out, scanner = scan([stream[:cut], stream[cut:]])
    assert out == b"hello\x00\x1etinirun" and scanner.done and scanner.after == b"0 0\n"


def test_a_marker_of_another_run_is_output() -> None:
    other = boot.marker("ffffffff")
    out, scanner = scan([b"x" + other + b"y"])
    assert not scanner.done and out + scanner.flush() == b"x" + other + b"y"


def test_trailer_needs_both_markers_the_header_and_every_byte() -> None:
    stdout, stderr = EndScanner(MARK), EndScanner(MARK)
    stdout.feed(b"out" + MARK)
    stderr.feed(b"err" + MARK + b"3 5\nab")
    assert read_trailer(stdout, stderr) is None
    stderr.feed(b"cde")
    assert read_trailer(stdout, stderr) == (3, b"abcde", None)
    assert read_trailer(EndScanner(MARK), stderr) is None


def test_trailer_carries_the_oom_kill_count_where_the_cgroup_gives_one() -> None:
    stdout, stderr = EndScanner(MARK), EndScanner(MARK)
    stdout.feed(MARK)
    stderr.feed(MARK + b"137 0 2\n")
    assert read_trailer(stdout, stderr) == (137, b"", 2)
    # Where the cgroup says nothing the shell leaves the count out (a trailing space).
    stderr = EndScanner(MARK)
    stderr.feed(MARK + b"0 0 \n")
    assert read_trailer(stdout, stderr) == (0, b"", None)


def tar(files: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if symlink:
            info = tarfile.TarInfo(symlink)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            archive.addfile(info)
    return buffer.getvalue()


def test_globs() -> None:
    assert matches("out/a/b/c.png", ["out/**"]) and matches("out/x", ["out/**"])
    assert matches("r/s/b.csv", ["r/**/*.csv"]) and matches("r/b.csv", ["r/**/*.csv"])
    assert not matches("a/b.csv", ["*.csv"]) and matches("b.csv", ["*.csv"])
    assert not matches("outside.txt", ["out/**"])


def test_collect_matches_caps_and_names_what_it_left_out() -> None:
    data = tar({"out/b.txt": b"bb", "out/a.png": b"\x89PNG", "other.txt": b"x",
                "out/c.bin": b"c" * 100}, symlink="out/link")
    result = collect(data, ["out/**"], max_files=2, max_bytes=50)
    assert [(f.path, f.media_type, base64.b64decode(f.content)) for f in result.files] == [
        ("out/a.png", "image/png", b"\x89PNG"), ("out/b.txt", "text/plain", b"bb")]
    assert result.truncated and result.omitted == ["out/c.bin"]
    assert collect(data, ["out/**"], 10, 1 << 20).omitted == []


def test_a_tar_cut_short_in_the_container_says_truncated() -> None:
    data = tar({"out/a": b"a" * 600, "out/b": b"b" * 600})
    result = collect(data[:1200], ["out/**"], 10, 1 << 20)
    assert result.truncated and [f.path for f in result.files] == ["out/a"]


def test_output_roots_of_globs() -> None:
    assert boot.output_roots(["out/**", "r/**/*.csv", "*.png", "a/b.txt"]) == [
        "out", "r", ".", "a/b.txt"]
