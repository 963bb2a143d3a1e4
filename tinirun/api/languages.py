"""GET /api/languages: the languages this service runs, from their folders and images."""

from __future__ import annotations

from fastapi import APIRouter

from tinirun.api.deps import ServicesDep
from tinirun.models import LanguageInfo

router = APIRouter()


@router.get("/languages", operation_id="list_languages", summary="List the languages",
            response_model=list[LanguageInfo])
async def list_languages(services: ServicesDep) -> list[LanguageInfo]:
    """Each language: its runtime's version, files, dependencies, example program, how to read
    its diagnostics and hints for an editor."""
    return await services.catalog.describe_all()
