"""The OpenAPI document in the original's shape, and the wire models it is made of: every chunk
the service writes fits them (so the document says what the code does)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tinirun.api.app import create_api
from tinirun.api.schemas import CHUNK_ADAPTER, ERROR_ADAPTER
from tinirun.config import Config
from tinirun.errors import BuildError, EngineError, FunctionImageMissingError
from tinirun.failures import error_data
from tinirun.models import Chunk, RunResult


def document() -> dict[str, Any]:
    return create_api(Config(api_key="-")).openapi()


def test_schema_names_are_the_originals() -> None:
    schemas = document()["components"]["schemas"]
    for name in ("CodeRunnerInput", "CodeRunnerLanguage", "CodeRunnerChunk", "CodeRunnerFile",
                 "CodeRunnerError", "CreateFunctionInput", "UpdateFunctionInput",
                 "RunFunctionInput", "FunctionItem", "RunFunctionOutput", "FunctionInfo",
                 "FunctionDetail", "FunctionStatus"):
        assert name in schemas, name
    for ours in ("RunRequest", "Chunk", "ErrorData", "RunResult", "HTTPValidationError"):
        assert ours not in schemas, ours


def test_unions_are_one_of_by_their_tag() -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["CodeRunnerChunk"]["discriminator"]["propertyName"] == "event"
    assert len(schemas["CodeRunnerChunk"]["oneOf"]) == 6
    assert schemas["CodeRunnerError"]["discriminator"]["propertyName"] == "error"
    assert schemas["FunctionStatus"]["discriminator"]["propertyName"] == "type"
    assert schemas["FunctionInfo"]["properties"]["status"] == {
        "$ref": "#/components/schemas/FunctionStatus"}


def test_required_fields_and_formats_are_the_originals() -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["CodeRunnerInput"]["required"] == ["code", "lang"]
    assert schemas["RunFunctionInput"]["required"] == ["input"]
    assert set(schemas["RunFunctionOutput"]["required"]) == {"stdout", "stderr", "timeout"}
    for name in ("FunctionInfo", "FunctionDetail"):
        for field in ("created_at", "updated_at"):
            assert schemas[name]["properties"][field]["format"] == "date-time"


def test_streams_and_security() -> None:
    doc = document()
    assert doc["security"] == [{"ApiKey": []}]
    chunk = {"schema": {"$ref": "#/components/schemas/CodeRunnerChunk"}}
    for path, method in [("/code/run", "post"), ("/function", "post"),
                         ("/function/{name}", "post"), ("/function/{name}/run/stream", "post")]:
        operation = doc["paths"][path][method]
        content = operation["responses"]["200"]["content"]
        assert content["application/jsonl"] == chunk and content["text/event-stream"] == chunk
        assert "security" not in operation and "422" not in operation["responses"]
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert "pattern" not in doc["paths"]["/function/{name}/info"]["get"]["parameters"][0]["schema"]


@pytest.mark.parametrize("chunk", [
    Chunk.info("Starting container..."), Chunk.debug("Step 1/3"),
    Chunk(event="stdout", data="out"), Chunk(event="stderr", data="err"),  # type: ignore[arg-type]
    Chunk.result(RunResult(stdout="a", stderr="", exit_code=None, timeout=True)),
    Chunk.error(error_data(BuildError("failed", "log"))),
    Chunk.error(error_data(EngineError("down"))),
    Chunk.error(error_data(FunctionImageMissingError("gone", "fn:v0"))),
])
def test_every_chunk_fits_the_documented_schema(chunk: Chunk) -> None:
    CHUNK_ADAPTER.validate_python(chunk.to_json(), strict=False)


def test_a_build_failure_without_logs_would_not_fit() -> None:
    with pytest.raises(ValidationError):
        ERROR_ADAPTER.validate_python({"error": "build_failed", "message": "m"})


def test_extensions_of_request_bodies_stay_optional_in_generated_clients() -> None:
    # openapi-typescript makes a field with a default required: a body written for the
    # original (without our extensions) must still typecheck.
    from tinirun.api.schemas import ORIGINAL_FIELDS

    schemas = document()["components"]["schemas"]
    for name, fields in ORIGINAL_FIELDS.items():
        for field, prop in schemas[name]["properties"].items():
            if field not in fields:
                assert prop.get("default") is None, (name, field)
                assert field not in schemas[name].get("required", []), (name, field)
