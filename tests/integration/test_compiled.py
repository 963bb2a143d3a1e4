"""The compiled and transpiled languages keep their behaviour on the real images: TypeScript
through esbuild and node (imports of files and packages, top-level await, traces into main.ts,
the opt-in type check), Go's direct compile and link (and `go build` where it is needed), Rust
with lld; compile errors in the compiler's own words, read by the folder's patterns."""

from __future__ import annotations

import base64
import subprocess

from tests.integration.conftest import warm_containers
from tests.integration.server import Server, result_of
from tests.wait import wait_until
from tinirun.languages import get_language
from tinirun.languages.diagnostics import find_diagnostics


def lines_of(lang: str, result: dict[str, str]) -> list[int]:
    return [d.line for d in find_diagnostics(get_language(lang).diagnostics,
                                             result["stderr"] + result["stdout"])]


def attached(path: str, text: str) -> dict[str, str]:
    return {"path": path, "content": base64.b64encode(text.encode()).decode()}


def test_typescript_imports_files_and_packages_with_top_level_await(server: Server) -> None:
    code = ("import isNumber from 'is-number';\n"
            "import { twice } from './files/util';\n"
            "const n: number = await Promise.resolve(21);\n"
            "console.log(twice(n), isNumber(n), import.meta.url.startsWith('file:///work/'));\n")
    util = "export function twice(n: number): number {\n  return n * 2;\n}\n"
    result = result_of(server.run({"lang": "typescript", "code": code,
                                   "dependencies": ["is-number@7.0.0"],
                                   "files": [attached("util.ts", util)]}))
    assert result["stdout"] == "42 true true\n", result


def test_typescript_errors_point_into_the_snippet(server: Server) -> None:
    syntax = result_of(server.run({"lang": "typescript",
                                   "code": "const x: number = 1;\nconst y z = 2;\n"}))
    assert syntax["exit_code"] != 0
    assert 'Expected ";" but found "z"' in syntax["stderr"]
    assert lines_of("typescript", syntax) == [2]
    thrown = result_of(server.run({"lang": "typescript", "code":
                                   "type T = { a: number };\nconst t: T = { a: 1 };\n"
                                   "function f(): void {\n  throw new Error('boom ' + t.a);\n}\n"
                                   "f();\n"}))
    assert thrown["exit_code"] == 1
    assert "at f (/work/main.ts:4:9)" in thrown["stderr"], thrown["stderr"]
    assert lines_of("typescript", thrown) == [4, 6]


def test_typescript_type_check_is_opt_in(server: Server) -> None:
    code = "const x: number = 'one';\nconsole.log('ran', x);\n"
    unchecked = result_of(server.run({"lang": "typescript", "code": code}))
    assert unchecked["exit_code"] == 0 and unchecked["stdout"] == "ran one\n"
    checked = result_of(server.run({"lang": "typescript", "code": code, "typecheck": True}))
    assert checked["exit_code"] != 0 and checked["stdout"] == ""
    assert "main.ts(1,7): error TS2322" in checked["stderr"], checked
    assert lines_of("typescript", checked) == [1]
    fine = result_of(server.run({"lang": "typescript", "typecheck": True, "code":
                                 "import path from 'path';\nconst n: number = await "
                                 "Promise.resolve(2);\nconsole.log(path.basename('/a/b'), n);\n"}))
    assert fine["stdout"] == "b 2\n", fine


def test_type_check_only_where_the_language_has_one(server: Server) -> None:
    with server.client() as client:
        response = client.post("/api/code/run", json={"lang": "python", "code": "print(1)",
                                                      "typecheck": True})
    assert response.status_code == 400
    assert "typecheck: python has no type check" in response.text


def test_go_compile_errors_and_the_standard_library(server: Server) -> None:
    bad = result_of(server.run({"lang": "go", "code":
                                "package main\n\nimport \"fmt\"\n\nfunc main() {\n"
                                "\tfmt.Println(x)\n\ty := 1\n}\n"}))
    assert bad["exit_code"] != 0
    assert "main.go:6:14: undefined: x" in bad["stderr"]
    assert "main.go:7:2: declared and not used: y" in bad["stderr"]
    assert lines_of("go", bad) == [6, 7]
    code = ("package main\n\nimport (\n\t\"encoding/json\"\n\t\"fmt\"\n\t\"io\"\n"
            "\t\"net/http\"\n\t\"net/http/httptest\"\n)\n\nfunc main() {\n"
            "\tsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, "
            "r *http.Request) { fmt.Fprint(w, \"hi\") }))\n\tdefer srv.Close()\n"
            "\tresp, err := http.Get(srv.URL)\n\tif err != nil {\n\t\tpanic(err)\n\t}\n"
            "\tbody, _ := io.ReadAll(resp.Body)\n"
            "\tout, _ := json.Marshal(map[string]string{\"body\": string(body)})\n"
            "\tfmt.Println(string(out))\n}\n")
    result = result_of(server.run({"lang": "go", "code": code}))
    assert result["stdout"] == '{"body":"hi"}\n', result


def test_go_panics_and_embeds(server: Server) -> None:
    panic = result_of(server.run({"lang": "go", "code":
                                  "package main\n\nfunc main() {\n\ta := []int{1}\n\ti := 3\n"
                                  "\t_ = a[i]\n}\n"}))
    assert panic["exit_code"] == 2 and "index out of range [3]" in panic["stderr"]
    assert lines_of("go", panic) == [6]
    # go:embed needs the go command's embed configuration: such a snippet builds with it.
    embed = ("package main\n\nimport (\n\t_ \"embed\"\n\t\"fmt\"\n)\n\n"
             "//go:embed files/data.txt\nvar data string\n\n"
             "func main() { fmt.Print(data) }\n")
    result = result_of(server.run({"lang": "go", "code": embed,
                                   "files": [attached("data.txt", "embedded\n")]}))
    assert result["stdout"] == "embedded\n", result


def test_rust_errors_warnings_and_panics(server: Server) -> None:
    bad = result_of(server.run({"lang": "rust", "code":
                                "fn main() {\n    let y = 1;\n    println!(\"{}\", x);\n}\n"}))
    assert bad["exit_code"] != 0
    assert "error[E0425]: cannot find value `x` in this scope" in bad["stderr"]
    assert lines_of("rust", bad) == [3]
    warned = result_of(server.run({"lang": "rust", "code":
                                   "fn main() {\n    let y = 1;\n    println!(\"ran\");\n}\n"}))
    assert warned["exit_code"] == 0 and warned["stdout"] == "ran\n"
    assert "warning: unused variable: `y`" in warned["stderr"]
    panic = result_of(server.run({"lang": "rust", "code":
                                  "fn main() {\n    let v = vec![1];\n    let i = 3;\n"
                                  "    println!(\"{}\", v[i]);\n}\n"}))
    assert panic["exit_code"] == 101
    assert lines_of("rust", panic) == [4]



def test_rust_runtime_linked_by_lld_itself(server: Server) -> None:
    """A snippet is linked by ld.lld without gcc's driver (the image gives it the C runtime's
    start files): threads, thread-locals, unwinding, destructors at exit, symbolised
    backtraces and system libraries work as they do through the driver."""
    code = ("use std::cell::Cell;\n\nthread_local!(static N: Cell<u32> = Cell::new(1));\n\n"
            "#[link(name = \"m\")]\nextern \"C\" {\n    fn cos(x: f64) -> f64;\n}\n\n"
            "struct Bye;\nimpl Drop for Bye {\n    fn drop(&mut self) {\n"
            "        println!(\"bye\");\n    }\n}\n\n"
            "fn main() {\n    let _bye = Bye;\n"
            "    let t = std::thread::spawn(|| { N.with(|n| n.set(2)); N.with(|n| n.get()) })\n"
            "        .join().unwrap();\n"
            "    let caught = std::panic::catch_unwind(|| panic!(\"inner\")).is_err();\n"
            "    let trace = std::backtrace::Backtrace::force_capture().to_string();\n"
            "    println!(\"{} {} {} {} {}\", t, N.with(|n| n.get()), caught,\n"
            "             trace.contains(\"main::main\"), unsafe { cos(0.0) });\n}\n")
    result = result_of(server.run({"lang": "rust", "code": code}))
    assert result["exit_code"] == 0, result
    assert result["stdout"] == "2 1 true true 1\nbye\n", result
    assert "panicked at main.rs:21:46:" in result["stderr"], result


def test_rust_prestarted_linker_links_and_speaks_for_itself(server: Server) -> None:
    """A warm container has ld.lld pre-started beside rustc, waiting for its arguments; the
    snippet links through it, and a link error comes out in lld's own words with rustc's,
    as when rustc starts the linker itself."""
    result = result_of(server.run({"lang": "rust", "code": 'fn main() { println!("linked"); }\n'}))
    assert (result["exit_code"], result["stdout"]) == (0, "linked\n"), result
    waiting = wait_until(
        lambda: [c for c in warm_containers(server, "rust") if "ld.lld @/tmp/.tinirun-link"
                 in subprocess.run(["docker", "top", c, "-o", "pid,args"], capture_output=True,
                                   text=True).stdout],
        "a warm rust container with ld.lld waiting")
    assert waiting
    bad = result_of(server.run({"lang": "rust", "code":
                                'extern "C" {\n    fn nosuch();\n}\n\n'
                                "fn main() {\n    unsafe { nosuch() }\n}\n"}))
    assert bad["exit_code"] == 1, bad
    assert "ld.lld: error: undefined symbol: nosuch" in bad["stderr"], bad
    assert "error: linking with `/opt/tinirun/prestarted/ld.lld` failed: exit status: 1" \
        in bad["stderr"], bad
    # An argument that a response file would have to quote goes to ld.lld whole.
    spaced = result_of(server.run({"lang": "rust", "code":
                                   '#[link(name = "no such")]\nextern "C" {\n    fn f();\n}\n\n'
                                   "fn main() {\n    unsafe { f() }\n}\n"}))
    assert "ld.lld: error: unable to find library -lno such\n" in spaced["stderr"], spaced
    # A compile error never reaches the waiting linker: the run ends all the same, with
    # rustc's message.
    again = result_of(server.run({"lang": "rust", "code": "fn main() {\n    let x: i32 = \"a\";\n}\n"}))
    assert again["exit_code"] == 1 and "--> main.rs:2:18" in again["stderr"], again


# The program's own CPU quota, as its cgroup says (cgroup v2, else v1), in microseconds per
# 100 ms period.
QUOTA = {
    "go": ("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n)\n\n"
           "func main() {\n\tif b, err := os.ReadFile(\"/sys/fs/cgroup/cpu.max\"); err == nil {\n"
           "\t\tfmt.Println(strings.Fields(string(b))[0])\n\t\treturn\n\t}\n"
           "\tb, _ := os.ReadFile(\"/sys/fs/cgroup/cpu/cpu.cfs_quota_us\")\n"
           "\tfmt.Print(string(b))\n}\n"),
    "rust": ("fn main() {\n    match std::fs::read_to_string(\"/sys/fs/cgroup/cpu.max\") {\n"
             "        Ok(s) => println!(\"{}\", s.split_whitespace().next().unwrap()),\n"
             "        Err(_) => print!(\"{}\", std::fs::read_to_string("
             "\"/sys/fs/cgroup/cpu/cpu.cfs_quota_us\").unwrap()),\n    }\n}\n"),
}


def test_compiled_programs_run_under_their_own_cpu_quota(server: Server) -> None:
    """The compile step may have a larger quota (RUNNER_COMPILE_CPUS); the program never."""
    for lang, code in QUOTA.items():
        for cpu in (0.3, 0.5, 2.0):
            result = result_of(server.run({"lang": lang, "code": code, "cpu_limit": cpu}))
            assert result["exit_code"] == 0, result
            assert int(result["stdout"]) == round(cpu * 100_000), (lang, cpu, result)


def test_rust_prestarted_compiler_sees_the_snippet_and_its_files(server: Server) -> None:
    """rustc is pre-started with main.rs a fifo; modules, include_str! and the program find
    the snippet's directory as ever, and main.rs is the snippet's own file when it runs."""
    code = ('#[path = "files/util.rs"]\nmod util;\n\n'
            'fn main() {\n    let me = std::fs::read_to_string("main.rs").unwrap();\n'
            '    let meta = std::fs::metadata("main.rs").unwrap();\n'
            '    println!("{} {} {}", util::twice(21), include_str!("files/data.txt").trim(),\n'
            '             meta.is_file() && me.starts_with("#[path"));\n}\n')
    result = result_of(server.run({"lang": "rust", "code": code, "files": [
        attached("util.rs", "pub fn twice(n: i32) -> i32 {\n    n * 2\n}\n"),
        attached("data.txt", "data\n")]}))
    assert result["stdout"] == "42 data true\n", result
    # A compile error names main.rs and its line, as without the pre-start.
    bad = result_of(server.run({"lang": "rust", "code": "fn main() {\n    let x: i32 = \"a\";\n}\n"}))
    assert bad["exit_code"] == 1 and "--> main.rs:2:18" in bad["stderr"], bad
