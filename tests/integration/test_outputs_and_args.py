"""Output files (./out/ or the request's globs) and arguments, end to end through HTTP on the
real engine."""

from __future__ import annotations

import base64
from typing import Any

from tests.integration.server import Server, result_of

ARGS = ["two words", "it's \"quoted\"", "ünï código ☃", "$HOME", "*", ""]


def files_of(result: dict[str, Any]) -> dict[str, bytes]:
    return {f["path"]: base64.b64decode(f["content"]) for f in result["output_files"]}


def test_files_under_out_nested_binary_and_no_symlink_followed(server: Server) -> None:
    code = ("import os\nos.makedirs('out/deep/er', exist_ok=True)\n"
            "open('out/deep/er/data.bin', 'wb').write(bytes(range(256)))\n"
            "open('out/note.txt', 'w').write('hé')\n"
            "os.symlink('/etc/passwd', 'out/passwd')\n"
            "os.symlink('/etc', 'out/etc')\n"
            "open('elsewhere.txt', 'w').write('not collected')\n")
    result = result_of(server.run({"code": code, "lang": "python"}))
    assert result["exit_code"] == 0, result
    assert files_of(result) == {"out/deep/er/data.bin": bytes(range(256)),
                                "out/note.txt": "hé".encode()}
    media = {f["path"]: (f["media_type"], f["size"]) for f in result["output_files"]}
    assert media["out/note.txt"] == ("text/plain", 3)
    assert result["output_files_truncated"] is False and result["output_files_omitted"] == []


def test_output_globs_choose_other_files(server: Server) -> None:
    code = "mkdir -p out r/s\necho a > a.csv\necho b > r/s/b.csv\necho c > c.txt\necho o > out/o\n"
    result = result_of(server.run({"code": code, "lang": "bash",
                                   "output_globs": ["*.csv", "r/**/*.csv"]}))
    assert files_of(result) == {"a.csv": b"a\n", "r/s/b.csv": b"b\n"}


def test_a_run_that_writes_nothing_has_no_files(server: Server) -> None:
    result = result_of(server.run({"code": "print('hi')", "lang": "python"}))
    assert result["output_files"] == [] and result["output_files_truncated"] is False


def test_caps_leave_files_out_and_say_so(make) -> None:  # type: ignore[no-untyped-def]
    srv: Server = make(RUNNER_OUTPUT_MAX_FILES="2", RUNNER_OUTPUT_MAX_BYTES="1000")
    srv.start()
    code = ("mkdir -p out\nfor i in 1 2 3; do echo $i > out/f$i; done\n"
            "head -c 2000 /dev/zero > out/zbig\n")
    result = result_of(srv.run({"code": code, "lang": "bash"}))
    assert sorted(files_of(result)) == ["out/f1", "out/f2"]
    assert result["output_files_truncated"] is True
    assert sorted(result["output_files_omitted"]) == ["out/f3", "out/zbig"]


def test_matplotlib_plot_comes_back_as_a_png(server: Server) -> None:
    code = ("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
            "import os\nos.makedirs('out', exist_ok=True)\n"
            "plt.plot([1, 2, 3], [1, 4, 9])\nplt.savefig('out/plot.png')\nprint('saved')\n")
    chunks = server.run({"code": code, "lang": "python", "dependencies": ["matplotlib"],
                         "timeout": 120, "mem_limit_mb": 512})
    result = result_of(chunks)
    assert result["stdout"] == "saved\n", result["stderr"][-2000:]
    (plot,) = result["output_files"]
    assert plot["path"] == "out/plot.png" and plot["media_type"] == "image/png"
    assert base64.b64decode(plot["content"]).startswith(b"\x89PNG\r\n\x1a\n")


def test_args_reach_the_program_as_they_are(server: Server) -> None:
    py = result_of(server.run({"code": "import sys\nprint(repr(sys.argv[1:]))", "lang": "python",
                               "args": ARGS}))
    assert py["stdout"] == repr(ARGS) + "\n", py
    js = result_of(server.run({"code": "console.log(JSON.stringify(process.argv.slice(2)))",
                               "lang": "javascript", "args": ARGS}))
    assert js["stdout"].strip() == __import__("json").dumps(ARGS, ensure_ascii=False).replace(
        ", ", ","), js
    sh = result_of(server.run({"code": 'for a in "$@"; do printf "[%s]" "$a"; done', "lang": "bash",
                               "args": ARGS}))
    assert sh["stdout"] == "".join(f"[{a}]" for a in ARGS), sh


def test_bad_args_and_globs_are_refused_naming_the_field(server: Server) -> None:
    with server.client() as client:
        for body, field in (({"args": ["x"] * 101}, "args"), ({"args": ["a\u0000b"]}, "args"),
                            ({"args": ["x" * 5000]}, "args"),
                            ({"output_globs": ["../etc/*"]}, "output_globs"),
                            ({"output_globs": ["/etc/passwd"]}, "output_globs")):
            response = client.post("/api/code/run", json={"code": "echo", "lang": "bash", **body})
            assert response.status_code in (400, 422), (body, response.text)  # 400 once compat lands
            # The message names the field (as plain text or as {"message"}).
            assert field in response.text, response.text
