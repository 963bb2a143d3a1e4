"""The MCP tools: run code, list languages and functions, create, update and run functions.

Each tool call opens a client of the tinirun service (`ClientFactory`), so the same tools
serve `tinirun mcp` (a remote service over HTTP) and `/mcp` (the service in-process). What the
service refuses or cannot do comes back as a tool error carrying the service's message; the
MCP session goes on.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field
from tinirun_client import (
    AsyncClient,
    BusyError,
    ClientError,
    InfoChunk,
    LanguageInfo,
    RunError,
    StatusError,
    TransportError,
)
from tinirun_client._request import Outcome

from tinirun import __version__
from tinirun.languages import all_languages
from tinirun.mcp.render import result_content
from tinirun.models import CPU_RANGE, DEFAULT_TIMEOUT, MEMORY_RANGE_MB, TIMEOUT_RANGE

ClientFactory = Callable[[], AbstractAsyncContextManager[AsyncClient]]
# The end of an install's log given with a failed build (the message comes first).
LOG_TAIL = 3000

INSTRUCTIONS = """\
tinirun runs code in fresh, isolated containers (no network while the program runs, \
limits on time, memory and CPU). Use run_code for a one-off program; files it writes under \
./out/ come back (images as images). Use functions for a program you call many times: \
create_function builds it once (code, dependencies), run_function calls it with an input \
string on its standard input. list_languages says what each language expects."""

# The service says which languages it has (list_languages); these are the usual ones.
LanguageName = Annotated[str, Field(
    description="The program's language, a name list_languages gives: "
    + ", ".join(sorted(all_languages())) + ".")]
Dependencies = Annotated[list[str] | None, Field(
    description="Packages to install first, in the language's own syntax (python: pip "
    "requirement like 'requests' or 'numpy==2.1'; javascript/typescript: npm name like "
    "'lodash@4'; go: module path; rust: crate like 'serde=1.0'; bash: Debian package). "
    "Installed once and cached for later runs with the same list.")]
Timeout = Annotated[int, Field(ge=TIMEOUT_RANGE[0], le=TIMEOUT_RANGE[1],
                               description="Seconds before the program is killed.")]


class InputFile(BaseModel):
    """A file given to the program, which finds it at ./files/<path>."""

    path: str = Field(description="Relative path under ./files/, e.g. 'data.csv'.")
    content: str = Field(description="The file's content: text, or base64 if `base64` is true.")
    base64: bool = Field(default=False, description="`content` is base64 (for binary files).")


def _file_bytes(file: InputFile) -> bytes:
    if not file.base64:
        return file.content.encode()
    try:
        return base64.b64decode(file.content, validate=True)
    except (binascii.Error, ValueError):
        raise ToolError(f"files: the content of {file.path!r} is not valid base64") from None


def tool_error(exc: ClientError) -> ToolError:
    """The tool error for what the service (or the way to it) answered."""
    if isinstance(exc, RunError):
        text = f"{exc.kind}: {exc.message}"
        if exc.logs:
            text += f"\n\nEnd of the log:\n{exc.logs[-LOG_TAIL:]}"
        return ToolError(text)
    if isinstance(exc, BusyError):
        wait = f"; retry in {exc.retry_after} s" if exc.retry_after else ""
        return ToolError(f"The service is busy ({exc.message}){wait}")
    if isinstance(exc, StatusError):
        return ToolError(f"The service refused the call ({exc.status_code}): {exc.message}")
    if isinstance(exc, TransportError):
        return ToolError(f"Cannot reach the tinirun service: {exc}")
    return ToolError(str(exc))


@asynccontextmanager
async def _calling(connect: ClientFactory) -> AsyncIterator[AsyncClient]:
    try:
        async with connect() as client:
            yield client
    except ClientError as exc:
        raise tool_error(exc) from exc


async def _progress(ctx: Context | None, step: int, message: str) -> None:
    if ctx is not None:
        await ctx.report_progress(step, None, message)


def build_server(connect: ClientFactory) -> MCPServer:
    """An MCP server whose tools call the service through the clients `connect` opens."""
    server = MCPServer("tinirun", instructions=INSTRUCTIONS, version=__version__,
                       log_level="WARNING")
    readonly = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=ToolAnnotations(open_world_hint=False, destructive_hint=False))
    async def run_code(
        language: LanguageName,
        code: Annotated[str, Field(description="The whole program.")],
        dependencies: Dependencies = None,
        files: Annotated[list[InputFile] | None, Field(
            description="Files the program reads, at ./files/<path>.")] = None,
        stdin: Annotated[str | None, Field(description="Text on its standard input.")] = None,
        args: Annotated[list[str] | None, Field(
            description="Command-line arguments, passed as they are (no shell).")] = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        mem_limit_mb: Annotated[int | None, Field(
            ge=MEMORY_RANGE_MB[0], le=MEMORY_RANGE_MB[1],
            description="Memory limit in MiB (default 256).")] = None,
        cpu_limit: Annotated[float | None, Field(
            ge=CPU_RANGE[0], le=CPU_RANGE[1], description="CPU cores (default 0.5).")] = None,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Run a program once in a fresh, isolated container and return its exit code,
        stdout and stderr (and flags: timed out, out of memory, truncated). The container has
        no network; dependencies are installed before it starts. Files the program writes
        under ./out/ are returned, images as images (e.g. a matplotlib plot saved as
        out/plot.png). A program that fails is a normal result with its exit code; a tool
        error means it could not run (e.g. a dependency did not install: the error says what
        the package manager said)."""
        attached = {f.path: _file_bytes(f) for f in files} if files else None
        async with _calling(connect) as client:
            stream = client.run_code_stream(
                code, language, dependencies=dependencies, files=attached, timeout=timeout,
                mem_limit_mb=mem_limit_mb, cpu_limit=cpu_limit, stdin=stdin, args=args)
            result = (await _follow(stream, ctx)).result()
        return CallToolResult(content=result_content(result))

    @server.tool(annotations=readonly)
    async def list_languages() -> str:
        """The languages the service runs: for each, its runtime version, program file, how
        dependencies are given, whether it compiles, and an example program."""
        async with _calling(connect) as client:
            languages = await client.languages()
        return "\n\n".join(_language_text(lang) for lang in languages)

    @server.tool(annotations=readonly)
    async def list_functions() -> str:
        """The stored functions: name, language, status (ready / building / error /
        not_built), version and description."""
        async with _calling(connect) as client:
            items = await client.list_functions()
        if not items:
            return "No functions yet (create one with create_function)."
        return "\n".join(
            f"- {item.name}: {item.info.lang}, {item.info.status.type}, version "
            f"{item.info.version}" + (f" — {item.info.description}"
                                      if item.info.description else "")
            for item in items)

    @server.tool(annotations=readonly)
    async def get_function(
        name: Annotated[str, Field(description="The function's name.")],
    ) -> str:
        """A function's code, dependencies, status and version (to read it before an
        update)."""
        async with _calling(connect) as client:
            detail = await client.get_function_detail(name)
        status = detail.status.type
        message = getattr(detail.status, "message", None)
        return (f"name: {name}\nlanguage: {detail.lang}\nversion: {detail.version}\n"
                f"status: {status}" + (f" ({message})" if message else "") +
                f"\ndescription: {detail.description or ''}\n"
                f"dependencies: {detail.dependencies or ''}\ncode:\n{detail.code}")

    @server.tool(annotations=ToolAnnotations(open_world_hint=False, destructive_hint=False))
    async def run_function(
        name: Annotated[str, Field(description="The function's name.")],
        input: Annotated[str, Field(description="The string the function receives.")] = "",
        timeout: Timeout = DEFAULT_TIMEOUT,
    ) -> CallToolResult:
        """Call a ready function with an input string; returns what it printed (its return
        value on stdout), stderr and its exit code."""
        async with _calling(connect) as client:
            result = await client.run_function(name, input, timeout=timeout)
        return CallToolResult(content=result_content(result))

    @server.tool(annotations=ToolAnnotations(open_world_hint=False, destructive_hint=False,
                                             idempotent_hint=False))
    async def create_function(
        name: Annotated[str, Field(description="1 to 50 letters, digits, '_' or '-'.")],
        language: LanguageName,
        code: Annotated[str | None, Field(
            description="The function's code (see list_languages for the signature, e.g. "
            "python: def run(input: str) -> str). Default: the language's sample.")] = None,
        description: Annotated[str | None, Field(description="What it does.")] = None,
        dependencies: Dependencies = None,
        ctx: Context | None = None,
    ) -> str:
        """Create a function and build its image once (dependencies installed, code
        compiled); then call it with run_function. Fails if the name exists."""
        async with _calling(connect) as client:
            stream = client.create_function_stream(name, language, code=code,
                                                   description=description,
                                                   dependencies=dependencies)
            built = await _built(stream, ctx)
        return f"{built}\nCall it with run_function(name={name!r}, input=...)."

    @server.tool(annotations=ToolAnnotations(open_world_hint=False, destructive_hint=True,
                                             idempotent_hint=False))
    async def update_function(
        name: Annotated[str, Field(description="The function's name.")],
        code: Annotated[str, Field(description="The new code (replaces the old).")],
        description: Annotated[str | None, Field(description="What it does.")] = None,
        dependencies: Dependencies = None,
        ctx: Context | None = None,
    ) -> str:
        """Replace a function's code, description and dependencies and rebuild it (its
        version goes up by one)."""
        async with _calling(connect) as client:
            stream = client.update_function_stream(name, code, description=description,
                                                   dependencies=dependencies)
            return await _built(stream, ctx)

    return server


async def _follow(stream: Any, ctx: Context | None) -> Outcome:
    """Read a run's or a build's stream to its end, its `info` chunks sent as progress."""
    outcome = Outcome()
    step = 0
    async with stream:
        async for chunk in stream:
            outcome.see(chunk)
            if isinstance(chunk, InfoChunk):
                step += 1
                await _progress(ctx, step, chunk.data)
    return outcome


async def _built(stream: Any, ctx: Context | None) -> str:
    return str((await _follow(stream, ctx)).built())


def _language_text(language: LanguageInfo) -> str:
    deps = language.dependencies
    return (f"## {language.name} {language.version}\nprogram file: {language.source} "
            f"({'compiled' if language.compiled else 'interpreted'}); dependencies: "
            f"{deps.manager}, {deps.syntax}\nexample:\n{language.example.strip()}")
