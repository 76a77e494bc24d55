"""`/api/publishes/`: the seed's one-call publish, reserve -> complete | fail, deprecate,
get, and the listing with `?asset=NAME&latest_per_part=1`.

Every write goes through the same backend functions the Houdini tools call locally
(pm_db.backend.LocalBackend), so a publish over HTTP is the same publish. A token
publishes only from its own artist's scenes; an admin token from anyone's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field
from starlette.responses import Response

from pm_db import publishing, schemas
from pm_db.api.auth import as_caller, bearer, caller
from pm_db.api.entities import MAX_ID, OptionalId, OptionalText
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, ok
from pm_db.api.inputs import json_body
from pm_db.api.openapi import body
from pm_db.api.state import backend
from pm_db.errors import NotFound, ValidationError
from pm_db.services.tokens import Caller

router = APIRouter(prefix="/api/publishes", tags=["publishes"], responses=ERROR_RESPONSES)

Ref = Annotated[
    str,
    Path(min_length=1, max_length=64, description="publish id (a number) or publish_id (uuid)"),
]
Publish = Envelope[schemas.PublishOut]


class FailRequest(schemas.In):
    """Why a reserved publish failed (kept up to 4000 characters)."""

    reason: str = Field(min_length=1)


def _ref(ref: str) -> str:
    """`ref` if it can name a publish; raises NotFound as the service would."""
    if ref.isdigit() and int(ref) > MAX_ID:
        raise NotFound(f"no publish {ref!r}", field="publish_id")
    return ref


@router.get(
    "/",
    response_model=Envelope[list[schemas.PublishOut]],
    summary="Publishes newest first, or with latest_per_part=1 the latest of each part",
    operation_id="list_publishes",
)
def list_publishes(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    asset: OptionalText = None,
    part: OptionalText = None,
    task_id: OptionalId = None,
    part_id: OptionalId = None,
    scene_id: OptionalId = None,
    project_id: OptionalId = None,
    status: OptionalText = None,
    latest_per_part: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Response:
    local = backend(request)
    if latest_per_part:
        if not asset:
            raise ValidationError("is needed with latest_per_part", field="asset")
        return ok(local.latest_per_part(asset, project_id=project_id, task_id=task_id))
    if project_id is not None:
        raise ValidationError("filters only with latest_per_part=1", field="project_id")
    found = local.list_publishes(
        asset_name=asset,
        part_name=part,
        task_id=task_id,
        part_id=part_id,
        scene_id=scene_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return ok(found)


@router.post(
    "/",
    status_code=201,
    response_model=Publish,
    summary="The seed's one-call publish of a part whose data layer is written",
    operation_id="publish_part",
    openapi_extra=body(schemas.PublishIn),
)
async def publish_part(
    request: Request,
    token: Annotated[str, Depends(bearer)],
    data: Annotated[Any, Depends(json_body)],
) -> Response:
    def work(who: Caller) -> Response:
        return ok(publishing.publish_written(backend(request).db, who, data), 201)

    return await as_caller(request, token, work)


@router.post(
    "/reserve/",
    status_code=201,
    response_model=Publish,
    summary="Reserve the numbers and paths of a part publish from a saved scene",
    operation_id="reserve_publish",
    openapi_extra=body(schemas.ReserveRequest),
)
def reserve_publish(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    data: Annotated[Any, Depends(json_body)],
) -> Response:
    return ok(publishing.reserve(backend(request).db, who, data), status=201)


@router.get("/{ref}/", response_model=Publish, summary="One publish", operation_id="get_publish")
def get_publish(request: Request, ref: Ref, who: Annotated[Caller, Depends(caller)]) -> Response:
    return ok(backend(request).get_publish(_ref(ref)))


@router.post(
    "/{ref}/complete/",
    response_model=Publish,
    summary="Mark a reserved publish published: it becomes its part's latest",
    operation_id="complete_publish",
)
def complete_publish(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(caller)]
) -> Response:
    return ok(publishing.complete(backend(request).db, who, _ref(ref)))


@router.post(
    "/{ref}/fail/",
    response_model=Publish,
    summary="Mark a reserved publish failed, with the reason",
    operation_id="fail_publish",
    openapi_extra=body(FailRequest),
)
def fail_publish(
    request: Request,
    ref: Ref,
    who: Annotated[Caller, Depends(caller)],
    data: Annotated[Any, Depends(json_body)],
) -> Response:
    reason = schemas.parse(FailRequest, data).reason
    return ok(publishing.fail(backend(request).db, who, _ref(ref), reason))


@router.post(
    "/{ref}/deprecate/",
    response_model=Publish,
    summary="Withdraw a published version; the part's previous one becomes latest",
    operation_id="deprecate_publish",
)
def deprecate_publish(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(caller)]
) -> Response:
    return ok(publishing.deprecate(backend(request).db, who, _ref(ref)))
