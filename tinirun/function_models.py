"""The data of the function routes: names, the typed build status, info and requests."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, PlainSerializer, TypeAdapter, WithJsonSchema

from tinirun.languages import LanguageName
from tinirun.models import ErrorData, ErrorKind, RunLimits, Text

# The original's names are letters, `_` and `-`; digits are our additive extension.
FUNCTION_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,50}$"
FunctionName = Annotated[
    str,
    Field(pattern=FUNCTION_NAME_PATTERN, min_length=1, max_length=50,
          description="1 to 50 letters, digits, `_` or `-`."),
]


class StatusNotBuilt(BaseModel):
    type: Literal["not_built"] = "not_built"


class StatusBuilding(BaseModel):
    type: Literal["building"] = "building"


class StatusError(BaseModel):
    type: Literal["error"] = "error"
    error: ErrorKind
    message: str
    logs: str | None = None
    image_tag: str | None = None


class StatusReady(BaseModel):
    type: Literal["ready"] = "ready"
    tag: str
    id: str


FunctionStatus = Annotated[
    StatusNotBuilt | StatusBuilding | StatusError | StatusReady, Field(discriminator="type")
]
_STATUS = TypeAdapter[FunctionStatus](FunctionStatus)


def status_of_error(error: ErrorData) -> StatusError:
    """The status of a function whose build ended with `error`."""
    return StatusError(**error.public())


def dump_status(status: FunctionStatus) -> str:
    """A status as the stores keep it: the contract's JSON object."""
    return _STATUS.dump_json(status, exclude_none=True).decode()


def load_status(text: str | bytes) -> FunctionStatus:
    return _STATUS.validate_json(text)


# The original's API writes a function's version as a string ("2"); clients generated from
# it parse a string, so the JSON says "2" while the model holds a number (and reads either).
Version = Annotated[
    int,
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]+$",
                    "description": "The version number, as a string; 0 at creation, +1 per "
                    "update."}),
]


# RFC 3339 in UTC, as the stores keep it (a string, documented as a date-time).
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class FunctionInfo(BaseModel):
    """What the service knows of a function, without its code."""

    lang: LanguageName
    description: str | None = None
    status: FunctionStatus
    created_at: DateTime
    updated_at: DateTime
    version: Version


class FunctionDetail(FunctionInfo):
    """FunctionInfo plus the code and the dependencies (one space-separated string)."""

    code: str
    dependencies: str | None = None


class FunctionListItem(BaseModel):
    name: str
    info: FunctionInfo


class CreateFunctionRequest(BaseModel):
    """Body of POST /api/function. Without `code` the function starts as its language's
    sample; with it, it is built once with that code (an extension of the original's)."""

    name: FunctionName
    language: LanguageName
    code: Text | None = Field(default=None, description="Extension: the function's code "
                              "(default: the language's sample).")
    description: Text | None = Field(default=None, description="Extension: what it does.")
    dependencies: list[Text] | None = Field(default=None, description="Extension: packages to "
                                            "install, as for one-off runs.")


class UpdateFunctionRequest(BaseModel):
    """Body of POST /api/function/{name}."""

    code: Text
    description: Text | None = None
    dependencies: list[Text] | None = None


class FunctionRunRequest(RunLimits):
    """Body of POST /api/function/{name}/run and /run/stream."""

    input: Text = Field(description="Input to the function, on its standard input (required).")
