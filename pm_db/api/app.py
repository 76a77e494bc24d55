"""The REST service's application: `create_app()` builds it over a database.

`pm serve` runs it under uvicorn (`create_app` is the factory each worker calls); tests
build it over their own database. Routes are thin: they check the caller and hand the
request to the same backend functions the Houdini tools and the CLI use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import text
from starlette.responses import Response

import pm_db
from pm_db.api import browse, entities, envelope, events, parts, publishes, scenes
from pm_db.api.auth import caller
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, ok
from pm_db.api.inputs import check_params
from pm_db.api.openapi import document
from pm_db.api.state import database
from pm_db.backend import LocalBackend
from pm_db.db import Database, open_database
from pm_db.services.tokens import Caller
from pm_db.usd import work_on_calling_thread
from pm_db.web import install as web

DESCRIPTION = """pm's REST service: the original API's `/api/...` routes over pm's service layer.

Every answer is `{"ok": true, "data": ...}` or `{"ok": false, "error": {"code", "message",
"field"}}`. Send `Authorization: Bearer <token>` (tokens: `pm token create`); writes act
for the token's artist, and only admin tokens manage projects, shots, assets, artists and
tasks."""

meta = APIRouter(prefix="/api", tags=["service"], responses=ERROR_RESPONSES)


@meta.get(
    "/health/",
    response_model=Envelope[dict[str, Any]],
    summary="Whether the service and its database answer (no token needed)",
    operation_id="health",
    openapi_extra={"security": []},
)
def health(request: Request) -> Response:
    db = database(request)
    db.read(lambda session: session.execute(text("SELECT 1")).scalar())
    return ok({"status": "ok", "database": db.dialect, "version": pm_db.__version__})


@meta.get(
    "/me/",
    response_model=Envelope[dict[str, Any]],
    summary="Who the token speaks for",
    operation_id="whoami",
)
def whoami(who: Annotated[Caller, Depends(caller)]) -> Response:
    return ok(
        {
            "artist": who.login,
            "is_admin": who.is_admin,
            "token_id": who.token_id,
            "label": who.label,
        }
    )


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """What each service process does once when it starts: USD works on the calling
    thread (pm_db.usd.work_on_calling_thread), and is loaded before the first request."""
    work_on_calling_thread()
    yield


def create_app(db: Database | None = None) -> FastAPI:
    """The service over `db` (default: the database the environment selects)."""
    served = db or open_database()
    app = FastAPI(
        lifespan=lifespan,
        title="pm",
        version=pm_db.__version__,
        description=DESCRIPTION,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(check_params)],
    )
    app.state.db = served
    app.state.backend = LocalBackend(db=served)
    # The router tries routes in this order, so the calls every save and publish makes
    # come first (no two routers share a path).
    app.include_router(scenes.router)
    app.include_router(publishes.router)
    app.include_router(meta)
    app.include_router(entities.router())
    app.include_router(parts.router)
    app.include_router(browse.router)
    app.include_router(events.router)
    envelope.install(app, page_error=web.unexpected_error)
    # The web view at `/` and the API docs page, served with their files by pm itself.
    web.install(app)

    def openapi() -> dict[str, Any]:
        return document(app)

    app.openapi = openapi  # type: ignore[method-assign]
    return app
