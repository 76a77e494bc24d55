"""The API docs page, `/docs` (and `/api/docs`): Swagger UI from pm's own static files
(npm package swagger-ui-dist, with its licence), so it renders on a network cut off from
the internet. It needs no sign-in, like the API document it shows."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from pm_db.web import pages

router = APIRouter(include_in_schema=False)


@router.get("/docs")
@router.get("/api/docs/")
def api_docs(request: Request) -> Response:
    return pages.render(request, "docs.html", {"openapi_url": "/api/openapi.json"})
