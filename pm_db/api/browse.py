"""`/api/browse/` (what the asset browser and the launcher read: tree levels, a part's
versions, search, an artist's tasks) and `/api/launches/` (the launcher's record of a DCC
it started). The same backend functions the panels call locally."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from pm_db.api.auth import acting_as, caller
from pm_db.api.entities import MAX_ID, Ident
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, ok
from pm_db.api.inputs import json_body
from pm_db.api.openapi import body
from pm_db.api.state import backend
from pm_db.errors import ValidationError
from pm_db.services.events import EventOut
from pm_db.services.launches import LaunchIn
from pm_db.services.tokens import Caller
from pm_db.views import BrowseNode, TaskRow

router = APIRouter(tags=["browse"], responses=ERROR_RESPONSES)

MAX_KEYS = 1000
Page = Annotated[int, Query(ge=0, le=MAX_ID)]


@router.get(
    "/api/browse/",
    response_model=Envelope[list[BrowseNode]],
    summary="The browser's top level: every project",
    operation_id="browse_roots",
)
def roots(request: Request, who: Annotated[Caller, Depends(caller)]) -> Response:
    return ok(backend(request).browse_roots())


@router.get(
    "/api/browse/children/",
    response_model=Envelope[list[BrowseNode]],
    summary="The next level under each `key`",
    operation_id="browse_children",
)
def children(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    key: Annotated[list[str], Query(min_length=1)],
    limit: Page = 200,
) -> Response:
    if len(key) > MAX_KEYS:
        raise ValidationError(f"at most {MAX_KEYS} keys at once", field="key")
    return ok(backend(request).browse_children(key, limit))


@router.get(
    "/api/browse/versions/",
    response_model=Envelope[list[BrowseNode]],
    summary="One page of a part's versions, newest first",
    operation_id="browse_versions",
)
def versions(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    part_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    offset: Page = 0,
    limit: Page = 200,
) -> Response:
    return ok(backend(request).browse_versions(part_id, offset, limit))


@router.get(
    "/api/browse/search/",
    response_model=Envelope[list[list[str]]],
    summary="Tree paths of what matches `text`",
    operation_id="browse_search",
)
def search(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    text: Annotated[str, Query(max_length=200)],
    limit: Page = 200,
) -> Response:
    return ok(backend(request).browse_search(text, limit))


@router.get(
    "/api/browse/tasks/",
    response_model=Envelope[list[TaskRow]],
    summary="The tasks of an artist, with where they are",
    operation_id="artist_tasks",
)
def artist_tasks(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    artist: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    return ok(backend(request).artist_tasks(artist))


@router.get(
    "/api/browse/tasks/{id:int}/",
    response_model=Envelope[TaskRow],
    summary="One task with its project and target",
    operation_id="task_row",
)
def task_row(request: Request, id: Ident, who: Annotated[Caller, Depends(caller)]) -> Response:
    return ok(backend(request).task_row(id))


@router.post(
    "/api/launches/",
    status_code=201,
    response_model=Envelope[EventOut],
    summary="Record that a DCC was started for a task",
    operation_id="record_launch",
    openapi_extra=body(LaunchIn, defaulted=("artist",)),
)
def record_launch(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    data: Annotated[Any, Depends(json_body)],
) -> Response:
    return ok(backend(request).record_launch(acting_as(who, data, "record launches")), status=201)
