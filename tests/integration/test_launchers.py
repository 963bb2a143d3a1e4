"""Pre-started interpreters (launchers) are invisible to the program: a table of programs,
each run both ways on the real engine (the shell boot, and the language's launcher boot) with
the same payload, must give the same stdout, stderr and exit code."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import pytest

from tinirun.engine.container import Isolation
from tinirun.engine.docker import Engine
from tinirun.languages import Language, get_language
from tinirun.models import ChunkEvent, RunLimits, RunResult
from tinirun.runner import boot
from tinirun.runner.images import ImageManager
from tinirun.runner.pool import PoolSettings, WarmPool
from tinirun.runner.run import PreparedRun, Runner, payload

PY_INTROSPECT = r"""
import os, sys
print(sys.argv, sys.orig_argv, __name__, __file__, sys.path[0], os.getcwd())
print(sorted(globals()), __spec__, type(__loader__).__name__, __package__)
print(sorted(sys.modules))
print(sys.flags, sys.path)
print(repr(sys.stdin.read()), sys.stdin.seekable(), sys.stdin.isatty())
print(sorted(os.listdir('/proc/self/fd')), sorted(os.listdir('/tmp')), sorted(os.listdir('.')))
print(sorted(os.listdir('.tinirun')))
print({k: v for k, v in sorted(os.environ.items())})
print(os.getppid() != 1, len(os.listdir('/proc')) > 0)
import threading; print(threading.active_count())
"""
JS_INTROSPECT = r"""
const fs = require('fs');
console.log(process.argv, process.execArgv, __filename, __dirname, require.main === module);
console.log(Object.keys(require.cache), module.paths.slice(0, 2), typeof require('path').join);
console.log(JSON.stringify(fs.readFileSync(0, 'utf8')), fs.fstatSync(0).isFile());
console.log(fs.readdirSync('/proc/self/fd').sort(), fs.readdirSync('/tmp').sort());
console.log(fs.readdirSync('.').sort(), fs.readdirSync('.tinirun').sort());
console.log(JSON.stringify(Object.entries(process.env).sort()));
"""
TS_INTROSPECT = r"""
import fs from 'fs';
const n: number = 1;
console.log(process.argv, process.execArgv, import.meta.url, n);
console.log(JSON.stringify(fs.readFileSync(0, 'utf8')), fs.fstatSync(0).isFile());
console.log(fs.readdirSync('/proc/self/fd').sort(), fs.readdirSync('/tmp').sort());
console.log(fs.readdirSync('.').sort(), fs.readdirSync('.tinirun').sort());
console.log(JSON.stringify(Object.entries(process.env).sort()));
"""
PROGRAMS: list[tuple[str, str, str]] = [
    ("python", "introspection", PY_INTROSPECT),
    ("python", "uncaught exception", "def f():\n    raise ValueError('boom')\nf()\n"),
    ("python", "syntax error", "print('a'\n"),
    ("python", "exit code", "import sys\nprint('x')\nsys.exit(3)\n"),
    ("python", "exit message", "import sys\nsys.exit('bye')\n"),
    ("python", "keyboard interrupt", "raise KeyboardInterrupt\n"),
    ("python", "own signal", "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)\n"),
    ("python", "atexit and threads", "import atexit, threading\natexit.register(print, 'bye')\n"
     "threading.Thread(target=print, args=('t',)).start()\n"),
    ("python", "stdin lines", "import sys\nfor line in sys.stdin:\n    print(line.upper(), end='')\n"),
    ("javascript", "introspection", JS_INTROSPECT),
    ("javascript", "uncaught error", "function f() { throw new Error('boom'); }\nf();\n"),
    ("javascript", "syntax error", "console.log('a'\n"),
    ("javascript", "exit code", "console.log('x'); process.exit(3);\n"),
    ("javascript", "own signal", "process.kill(process.pid, 'SIGTERM');\n"),
    ("javascript", "module detection (ESM, top-level await)",
     "import { join } from 'path';\nawait Promise.resolve();\n"
     "console.log(join('a', 'b'), typeof require, import.meta.url);\n"),
    ("javascript", "stdin stream", "process.stdin.on('data', (d) => process.stdout.write("
     "String(d).toUpperCase()));\n"),
    ("javascript", "unhandled rejection", "Promise.reject(new Error('later'));\n"),
    ("javascript", "standard streams untouched until used (fd flags)",
     "const fs = require('fs');\nfor (const fd of [1, 2]) fs.writeSync(fd, "
     "fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\\n')[1] + '\\n');\n"),
    ("typescript", "introspection", TS_INTROSPECT),
    ("typescript", "uncaught error (source-mapped)",
     "function f(x: number): never {\n  throw new Error('boom ' + x);\n}\nf(1);\n"),
    ("typescript", "compile error", "const a: number = 1;\nconsole.log(a\n"),
    ("typescript", "exit code", "console.log('x');\nprocess.exit(3);\n"),
    ("typescript", "top-level await",
     "import { join } from 'path';\nawait Promise.resolve();\nconsole.log(join('a', 'b'));\n"),
    ("typescript", "stdin stream", "process.stdin.on('data', (d: Buffer) => "
     "process.stdout.write(String(d).toUpperCase()));\n"),
    # esbuild's warnings are the command's own (the pre-started service only counts for a
    # build with no message), and no compiler is left running once the program runs.
    ("typescript", "compile warning", "const s: string = 'a';\n"
     "console.log(typeof s == 'strng', s);\n"),
    ("typescript", "no compiler left running",
     "import fs from 'fs';\nconsole.log(fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p))"
     ".map((p) => { try { return fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim(); } "
     "catch { return ''; } }).filter((c) => c.includes('esbuild')));\n"),
]


def normal(result: RunResult) -> tuple[str, str, int | None]:
    """What may differ between two runs of one program: container ids and pids."""
    def scrub(text: str) -> str:
        return re.sub(r"HOSTNAME=[0-9a-f]+|'HOSTNAME': '[0-9a-f]+'|\"HOSTNAME\",\"[0-9a-f]+\"",
                      "HOSTNAME", text)
    return scrub(result.stdout), scrub(result.stderr), result.exit_code


async def run_both(language_name: str, code: str,
                   language: Language | None = None) -> tuple[RunResult, RunResult]:
    engine = Engine()
    images = ImageManager(engine)
    runner = Runner(engine, images, Isolation(), WarmPool(engine, PoolSettings(size=0)))
    language = language or get_language(language_name)
    image = images.runtime_tag(language)
    prepared = PreparedRun(language=language, code=code, dependencies=[], files=[],
                           limits=RunLimits(timeout=30), stdin="line one\nline two\n",
                           args=("a b", "ü'\""))
    launch = boot.launcher_boot(language, language.run)
    assert launch is not None, f"{language_name} has no launcher"
    results = []
    try:
        for command in (boot.SHELL_BOOT, launch):
            chunks = [c async for c in runner.execute(image, language.env, payload(prepared),
                                                      prepared.limits, command)]
            assert chunks[-1].event == ChunkEvent.RESULT, chunks[-3:]
            assert isinstance(chunks[-1].data, RunResult)
            results.append(chunks[-1].data)
    finally:
        await engine.close()
    return results[0], results[1]


@pytest.mark.parametrize(("lang", "name", "code"), PROGRAMS,
                         ids=[f"{lang}-{name}" for lang, name, _ in PROGRAMS])
def test_the_program_cannot_tell_a_launcher(engine_ready: None, lang: str, name: str,
                                            code: str) -> None:
    shell, launched = asyncio.run(run_both(lang, code))
    assert normal(launched) == normal(shell)
    assert launched.timeout is shell.timeout is False


def test_each_language_folder_says_whether_it_has_a_launcher() -> None:
    from tinirun.languages import all_languages

    for language in all_languages().values():
        toml = (language.folder / "language.toml").read_text()
        assert ("\n[launcher]\n" in toml) is (language.launcher is not None), language.name
        assert "launcher" in toml, f"{language.name}'s folder does not say"
    assert {n for n, lang in all_languages().items() if lang.launcher} >= {"python",
                                                                           "javascript",
                                                                           "typescript"}


def test_typescript_builds_in_the_pre_started_esbuild_service(engine_ready: None) -> None:
    # A probe only esbuild's service accepts: a bare --metafile (its JS API's flag; the command
    # wants --metafile=FILE). The shell boot's esbuild command fails on it; the launcher's
    # build passes, so it was the service that built, not a new esbuild process.
    typescript = get_language("typescript")
    spec = typescript.spec.model_copy(update={"compile": typescript.compile + " --metafile"})
    probe = dataclasses.replace(typescript, spec=spec)
    shell, launched = asyncio.run(run_both("typescript", "console.log('built');\n", probe))
    assert shell.exit_code != 0 and "--metafile" in shell.stderr
    assert (launched.exit_code, launched.stdout, launched.stderr) == (0, "built\n", "")
