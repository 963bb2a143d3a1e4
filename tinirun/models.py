"""The data of the API: requests, stream chunks and results (pydantic models, no HTTP here)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
)
from pydantic_core import PydanticCustomError

from tinirun.errors import Fault
from tinirun.languages import LanguageName

# Run limits: the contract's ranges and defaults.
TIMEOUT_RANGE = (5, 300)
MEMORY_RANGE_MB = (1, 2048)
CPU_RANGE = (0.1, 4.0)
DEFAULT_TIMEOUT = 60
DEFAULT_MEMORY_MB = 256
DEFAULT_CPU = 0.5
MAX_FILES = 50
# The result's accumulated stdout and stderr are each capped here (the stream has its own cap).
RESULT_CAP_BYTES = 1024 * 1024
# Default of RUNNER_MAX_STREAM_BYTES: stdout plus stderr one run may stream to its client.
MAX_STREAM_BYTES = 16 * 1024 * 1024

# The error type of text that UTF-8 cannot encode (the API answers 400 naming the field).
NOT_ENCODABLE = "text_not_encodable"


def _encodable(value: str) -> str:
    """JSON may carry lone surrogates (`"\\ud800"`), which no file, stream or store can hold."""
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise PydanticCustomError(
            NOT_ENCODABLE, "text that cannot be encoded as UTF-8 (a lone surrogate at "
            "character {index})", {"index": exc.start},
        ) from None
    return value


Text = Annotated[str, AfterValidator(_encodable)]
"""A string that can be written anywhere: every text field of a request is one."""

Timeout = Annotated[
    int,
    Field(ge=TIMEOUT_RANGE[0], le=TIMEOUT_RANGE[1], description="Seconds before the run is killed."),
]
MemoryLimit = Annotated[
    int,
    Field(ge=MEMORY_RANGE_MB[0], le=MEMORY_RANGE_MB[1], description="Memory limit in MiB."),
]
CpuLimit = Annotated[
    float, Field(ge=CPU_RANGE[0], le=CPU_RANGE[1], description="CPU quota, 1.0 = one core.")
]


class RunLimits(BaseModel):
    """The limits of one run."""

    timeout: Timeout = DEFAULT_TIMEOUT
    mem_limit_mb: MemoryLimit = DEFAULT_MEMORY_MB
    cpu_limit: CpuLimit = DEFAULT_CPU


class FileSpec(BaseModel):
    """A file placed at ./files/<path> for the code to read."""

    model_config = ConfigDict(extra="ignore")

    path: Text = Field(description="Relative path under ./files; no `.` or `..` components.")
    content: Text = Field(description="The file's content, base64.")


# Arguments of a one-off run: how many, and how long each may be.
MAX_ARGS = 100
MAX_ARG_LENGTH = 4096


def _no_nul(value: str) -> str:
    if "\0" in value:
        raise PydanticCustomError("nul", "may not contain NUL characters")
    return value


MAX_GLOB_LENGTH = 200


def check_glob(glob: str) -> str | None:
    """Why an output glob is refused (absolute, `..`, empty, too long), or None."""
    if not glob or len(glob) > MAX_GLOB_LENGTH:
        return f"must be 1 to {MAX_GLOB_LENGTH} characters"
    if glob.startswith("/") or "\\" in glob or "\0" in glob:
        return "must be a relative path pattern"
    if any(part in ("", ".", "..") for part in glob.split("/")):
        return "may not contain empty, `.` or `..` components"
    return None


def _glob(value: str) -> str:
    problem = check_glob(value)
    if problem:
        raise PydanticCustomError("glob", "{problem}", {"problem": problem})
    return value


Argument = Annotated[Text, Field(max_length=MAX_ARG_LENGTH), AfterValidator(_no_nul)]
OutputGlob = Annotated[Text, AfterValidator(_glob)]


class OutputFile(BaseModel):
    """A file the program wrote under one of the output globs."""

    path: str = Field(description="Path relative to the work directory (e.g. out/plot.png).")
    size: int = Field(description="Bytes.")
    media_type: str = Field(description="Guessed from the name (application/octet-stream "
                            "when unknown).")
    content: str = Field(description="The file's content, base64.")


class RunRequest(RunLimits):
    """Body of POST /api/code/run."""

    code: Text
    lang: LanguageName = Field(description="Language of the code (required, as the original's).")
    dependencies: list[Text] | None = None
    files: list[FileSpec] | None = Field(default=None, max_length=MAX_FILES)
    stdin: Text | None = Field(
        default=None, description="Extension: text given to the program on standard input."
    )
    args: list[Argument] | None = Field(
        default=None, max_length=MAX_ARGS,
        description=f"Extension: arguments after the program (its argv), passed as they are, "
        f"no shell; at most {MAX_ARGS}, each at most {MAX_ARG_LENGTH} characters.")
    output_globs: list[OutputGlob] | None = Field(
        default=None, max_length=20,
        description="Extension: which files the program writes are returned in the result "
        "(`output_files`): globs relative to the work directory, `**` spanning directories. "
        "Default `[\"out/**\"]`: whatever it writes under ./out/.")
    typecheck: bool = Field(
        default=False, description="Extension: type-check the snippet first (typescript: `tsc "
        "--noEmit`, which adds seconds); type errors end the run like compile errors.")


class RunResult(BaseModel):
    """How a run ended. The last four fields are extensions of the original's result."""

    stdout: str
    stderr: str
    exit_code: int | None = None
    timeout: bool
    duration_ms: int | None = Field(
        default=None, description="Extension: wall time of the user's program in milliseconds."
    )
    stdout_truncated: bool = Field(
        default=False, description="Extension: stdout here was cut at the 1 MiB cap (or the stream at "
                    "RUNNER_MAX_STREAM_BYTES)."
    )
    stderr_truncated: bool = Field(
        default=False, description="Extension: stderr here was cut at the 1 MiB cap (or the stream at "
                    "RUNNER_MAX_STREAM_BYTES)."
    )
    oom_killed: bool = Field(
        default=False, description="Extension: the program was killed for exceeding its memory."
    )
    output_files: list[OutputFile] = Field(
        default_factory=list,
        description="Extension: files the program wrote under the output globs (regular "
        "files; symbolic links are not followed), within RUNNER_OUTPUT_MAX_FILES and "
        "RUNNER_OUTPUT_MAX_BYTES.")
    output_files_truncated: bool = Field(
        default=False, description="Extension: some output files were left out (the caps).")
    output_files_omitted: list[str] = Field(
        default_factory=list, description="Extension: paths of the output files left out.")
    memory_peak_bytes: int | None = Field(
        default=None,
        description="Extension: peak memory of the container in bytes, where the service can "
        "read it (the engine on the same host); else null."
    )


class ErrorKind(StrEnum):
    """The kinds of `error` chunk."""

    BUILD_FAILED = "build_failed"
    DOCKER = "docker"
    FUNCTION_IMAGE_NOT_FOUND = "function_image_not_found"


_KIND_FAULT = {ErrorKind.BUILD_FAILED: Fault.BUILD, ErrorKind.DOCKER: Fault.ENGINE,
               ErrorKind.FUNCTION_IMAGE_NOT_FOUND: Fault.IMAGE_MISSING}


class ErrorData(BaseModel):
    """Data of an `error` chunk: why a run could not start (made by `tinirun.failures`)."""

    error: ErrorKind
    message: str
    logs: str | None = None
    image_tag: str | None = None
    # The fault it came from, for its HTTP status; not part of the data on the wire.
    _fault: Fault | None = PrivateAttr(default=None)

    @property
    def fault(self) -> Fault:
        if self._fault is not None:
            return self._fault
        return _KIND_FAULT[self.error]

    @fault.setter
    def fault(self, value: Fault) -> None:
        self._fault = value

    def public(self) -> dict[str, Any]:
        """The chunk's data as the original sends it (only the fields of its kind)."""
        return self.model_dump(mode="json", exclude_none=True)


class ChunkEvent(StrEnum):
    INFO = "info"
    DEBUG = "debug"
    STDOUT = "stdout"
    STDERR = "stderr"
    RESULT = "result"
    ERROR = "error"


class Chunk(BaseModel):
    """One piece of a stream: `{"event": ..., "data": ...}`."""

    event: ChunkEvent
    data: str | RunResult | ErrorData

    def to_json(self) -> dict[str, Any]:
        if isinstance(self.data, ErrorData):
            data: Any = self.data.public()
        elif isinstance(self.data, RunResult):
            data = self.data.model_dump(mode="json")
        else:
            data = self.data
        return {"event": self.event.value, "data": data}

    @classmethod
    def info(cls, text: str) -> Chunk:
        return cls(event=ChunkEvent.INFO, data=text)

    @classmethod
    def debug(cls, text: str) -> Chunk:
        return cls(event=ChunkEvent.DEBUG, data=text)

    @classmethod
    def error(cls, error: ErrorData) -> Chunk:
        return cls(event=ChunkEvent.ERROR, data=error)

    @classmethod
    def result(cls, result: RunResult) -> Chunk:
        return cls(event=ChunkEvent.RESULT, data=result)


# --- Languages --------------------------------------------------------------------------------


class DependencyInfo(BaseModel):
    """How a language's dependencies are installed."""

    manager: str = Field(description="The package manager (pip, npm, go, cargo, apt, ...).")
    syntax: str = Field(description="How an entry of `dependencies` is written.")


class DiagnosticInfo(BaseModel):
    """How to read one kind of line of a compiler's or interpreter's output as a diagnostic
    of the snippet (docs/languages.md says how they are applied)."""

    pattern: str = Field(description="Python regular expression matching one whole line, with "
                         "named groups `line` and optionally `column`, `message`, `severity`, "
                         "`file`; JavaScript reads it with `(?P<` turned into `(?<`.")
    message_pattern: str = Field(description="When not empty: the message is the `message` "
                                 "group of the nearest line before or after that matches it.")
    message_at: Literal["before", "after"]
    severity: Literal["error", "warning", "info"] = Field(
        description="Severity when the lines' `severity` group says none.")
    column_base: Literal[0, 1] = Field(description="0 when the tool counts columns from 0.")


class EditorInfo(BaseModel):
    """Hints for an editor of the language's snippets."""

    mode: str = Field(description="Editor language mode (the playground's names); empty: text.")
    indent: str = Field(description="One level of indentation: a tab or spaces.")


class FunctionFileInfo(BaseModel):
    """The user's file of a function in this language, and the sample a new one starts with."""

    file: str
    sample: str


class LanguageInfo(BaseModel):
    """One language of GET /api/languages."""

    name: str
    version: str | None = Field(description="The runtime's version as its image reports it; "
                                "null while the image is not built.")
    extension: str = Field(description="The usual file extension, without the dot.")
    extensions: list[str] = Field(description="Every extension of the language's files.")
    source: str = Field(description="The snippet's file name where it runs.")
    compiled: bool = Field(description="The snippet is compiled (or transpiled) before it runs.")
    dependencies: DependencyInfo
    example: str = Field(description="A complete example program.")
    diagnostics: list[DiagnosticInfo]
    editor: EditorInfo
    function: FunctionFileInfo
