"""The OpenAPI document as the original's clients are generated from it.

The service's models keep their own names and shapes (`RunRequest`, one flat `ErrorData`);
the document a client generator reads has the original's: its schema names, the chunk as a
`oneOf` by `event`, the error as a `oneOf` by `error`, the status as a `oneOf` by `type`,
one global `security`. `original_document` rewrites FastAPI's document into that shape; the
wire models below describe the chunk and the error exactly as `Chunk.to_json` and
`ErrorData.public` write them (a test checks every chunk kind against them).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from tinirun.models import RunResult

REF = "#/components/schemas/"

# Our model's name -> the original's schema name.
RENAMES = {
    "RunRequest": "CodeRunnerInput",
    "LanguageName": "CodeRunnerLanguage",
    "FileSpec": "CodeRunnerFile",
    "ErrorData": "CodeRunnerError",
    "CreateFunctionRequest": "CreateFunctionInput",
    "UpdateFunctionRequest": "UpdateFunctionInput",
    "FunctionRunRequest": "RunFunctionInput",
    "FunctionListItem": "FunctionItem",
    "RunResult": "RunFunctionOutput",
    "StatusError": "StatusFailed",
}


# The request bodies' fields of the original; ours beyond them are extensions.
ORIGINAL_FIELDS = {
    "CodeRunnerInput": {"code", "lang", "dependencies", "files", "timeout", "mem_limit_mb",
                        "cpu_limit"},
    "RunFunctionInput": {"input", "timeout", "mem_limit_mb", "cpu_limit"},
    "CreateFunctionInput": {"name", "language"},
    "UpdateFunctionInput": {"code", "description", "dependencies"},
}


def _optional_extensions(schemas: dict[str, Any]) -> None:
    """A generated client makes a field with a default required (openapi-typescript's
    default), so a body written for the original would miss our extensions: their default is
    said in words instead, and the field stays optional."""
    for name, fields in ORIGINAL_FIELDS.items():
        for field, prop in schemas.get(name, {}).get("properties", {}).items():
            if field not in fields and prop.get("default") is not None:
                default = prop.pop("default")
                prop["description"] = (f"{prop.get('description', '')} Default: "
                                       f"{json.dumps(default)}.").strip()


class BuildFailed(BaseModel):
    """The image build failed (the dependencies did not install); `logs` is its log."""

    error: Literal["build_failed"]
    message: str
    logs: str


class DockerFailed(BaseModel):
    """The Docker engine failed, the service is stopping, or a fault of ours."""

    error: Literal["docker"]
    message: str


class FunctionImageNotFound(BaseModel):
    """The function's image is gone; update the function to rebuild it."""

    error: Literal["function_image_not_found"]
    message: str
    image_tag: str


CodeRunnerError = Annotated[BuildFailed | DockerFailed | FunctionImageNotFound,
                            Field(discriminator="error")]


class InfoChunk(BaseModel):
    """Progress of the service."""

    event: Literal["info"]
    data: str


class DebugChunk(BaseModel):
    """Build or pull log lines."""

    event: Literal["debug"]
    data: str


class StdoutChunk(BaseModel):
    """Standard output of the program, as it comes."""

    event: Literal["stdout"]
    data: str


class StderrChunk(BaseModel):
    """Standard error of the program, as it comes."""

    event: Literal["stderr"]
    data: str


class ErrorChunk(BaseModel):
    """Why the run could not start: the last chunk."""

    event: Literal["error"]
    data: CodeRunnerError


class ResultChunk(BaseModel):
    """How the run ended: the last chunk."""

    event: Literal["result"]
    data: RunResult


CodeRunnerChunk = Annotated[
    InfoChunk | DebugChunk | StdoutChunk | StderrChunk | ErrorChunk | ResultChunk,
    Field(discriminator="event"),
]
CHUNK_ADAPTER = TypeAdapter[Any](CodeRunnerChunk)
ERROR_ADAPTER = TypeAdapter[Any](CodeRunnerError)


class InvalidInput(BaseModel):
    """A body that cannot be parsed or breaks the schema (HTTP 400)."""

    message: str = Field(description="What is wrong, naming the field.")


def _wire_schema(adapter: TypeAdapter[Any], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=REF + "{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    return schema


def _renamed(node: Any) -> Any:
    """`node` with every $ref to a renamed schema pointing at its new name."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF):
                name = value.removeprefix(REF)
                value = REF + RENAMES.get(name, name)
            elif key == "mapping" and isinstance(value, dict):
                value = {k: REF + RENAMES.get(v.removeprefix(REF), v.removeprefix(REF))
                         for k, v in value.items()}
            else:
                value = _renamed(value)
            out[key] = value
        return out
    if isinstance(node, list):
        return [_renamed(item) for item in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF):
                found.add(value.removeprefix(REF))
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)


def _prune(document: dict[str, Any]) -> None:
    """Drop the schemas nothing refers to (FastAPI's 422 ones, the flat forms replaced)."""
    schemas = document["components"]["schemas"]
    while True:
        used: set[str] = set()
        _refs({k: v for k, v in document.items() if k != "components"}, used)
        _refs(schemas, used)
        unused = [name for name in schemas if name not in used]
        if not unused:
            return
        for name in unused:
            del schemas[name]


def _status_schema(schemas: dict[str, Any]) -> dict[str, Any]:
    """FunctionStatus, a oneOf by `type`; its error variant is `{type: "error"}` plus the
    fields of a CodeRunnerError, as the original's."""
    schemas["StatusFailed"] = {
        "title": "StatusFailed",
        "description": "The latest build failed: the error chunk's fields.",
        "type": "object",
        "properties": {"type": {"type": "string", "const": "error"}},
        "required": ["type"],
        "allOf": [{"$ref": REF + "CodeRunnerError"}],
    }
    variants = {"not_built": "StatusNotBuilt", "building": "StatusBuilding",
                "error": "StatusFailed", "ready": "StatusReady"}
    return {
        "title": "FunctionStatus",
        "description": "Build status of the function.",
        "oneOf": [{"$ref": REF + name} for name in variants.values()],
        "discriminator": {"propertyName": "type",
                          "mapping": {k: REF + v for k, v in variants.items()}},
    }


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for item in document.get("paths", {}).values()
            for operation in item.values() if isinstance(operation, dict)]


def original_document(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite FastAPI's document (in place) into the original's shape; return it."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    chunk = _wire_schema(CHUNK_ADAPTER, schemas)
    error = _wire_schema(ERROR_ADAPTER, schemas)
    schemas.pop("ErrorData", None)
    schemas.pop("Chunk", None)
    for model in (InvalidInput,):
        schemas[model.__name__] = model.model_json_schema(ref_template=REF + "{model}")
    renamed: dict[str, Any] = {}
    for name, definition in schemas.items():
        new = RENAMES.get(name, name)
        if definition.get("title") == name:
            definition["title"] = new
        renamed.setdefault(new, definition)
    schemas.clear()
    schemas.update(_renamed(renamed))
    schemas["CodeRunnerChunk"] = {"title": "CodeRunnerChunk",
                                  "description": "Chunk of the code runner stream output.",
                                  **_renamed(chunk)}
    schemas["CodeRunnerError"] = {"title": "CodeRunnerError",
                                  "description": "Why a run could not start.",
                                  **_renamed(error)}
    schemas["FunctionStatus"] = _status_schema(schemas)
    _optional_extensions(schemas)
    for name in ("FunctionInfo", "FunctionDetail"):
        schemas[name]["properties"]["status"] = {"$ref": REF + "FunctionStatus"}
    document["paths"] = _renamed(document.get("paths", {}))

    # One global requirement, as the original's; open routes say so with an empty one.
    schemes = list(document["components"].get("securitySchemes", {}))
    requirement: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    document["security"] = requirement
    for operation in _operations(document):
        if operation.get("security") == requirement:
            del operation["security"]
        else:
            operation.setdefault("security", [])
        # Bad bodies are 400 with {"message"}, never 422.
        responses = operation.get("responses", {})
        if responses.pop("422", None) is not None or "requestBody" in operation:
            responses.setdefault("400", {"description": "The body cannot be parsed or breaks "
                                                        "the schema (the message names the "
                                                        "field)"})
            content = responses["400"].setdefault("content", {}).setdefault(
                "application/json", {})
            schema = content.get("schema")
            invalid = {"$ref": REF + "InvalidInput"}
            content["schema"] = invalid if schema is None or schema == invalid else {
                "oneOf": [invalid, schema]}
    _prune(document)
    return document
