"""`/api/publishes/`: the project_manager API's one-call publish, reserve -> complete |
fail, deprecate, retrieve, and the listing with `?asset=NAME&latest_per_part=1` (narrowed
to a project, a shot or asset, or a task, and saying which in its answer). A publish is a
record of a file: it is never replaced, changed or deleted (405, deprecate instead).

Every write goes through the same backend functions the Houdini tools call locally
(pm_db.backend.LocalBackend), so a publish over HTTP is the same publish. A token
publishes only from its own artist's scenes; an admin token from anyone's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response

from pm_db import publishing, schemas
from pm_db.api.auth import as_caller, bearer, caller
from pm_db.api.entities import MAX_ID, CodeOrId, OptionalId, OptionalText
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, NotAllowed, ok, ok_with
from pm_db.api.inputs import Page, json_body, paging
from pm_db.api.openapi import body
from pm_db.api.state import backend
from pm_db.errors import NotFound, ValidationError
from pm_db.services import entities
from pm_db.services.tokens import Caller

router = APIRouter(prefix="/api/publishes", tags=["publishes"], responses=ERROR_RESPONSES)

# Any one path segment but `reserve`: an id or a uuid (another is a 404 naming the
# publish), never the reserve route.
REF_PATTERN = "(?!reserve(?:/|$))[^/]{1,64}"


class PublishRef(Convertor[str]):
    """`{ref:publish}` in a route: a publish id or uuid, so that `/api/publishes/reserve/`
    is never read as a publish (and answers 405 to the methods it does not take)."""

    regex = REF_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("publish", PublishRef())
# The convertor checks the pattern (pydantic's patterns cannot look ahead); the document
# says it.
Ref = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="publish id (a number) or its uuid",
        json_schema_extra={"pattern": f"^(?:{REF_PATTERN})$"},
    ),
]
Publish = Envelope[schemas.PublishOut]
Status = Literal[schemas.PUBLISH_STATUSES]  # type: ignore[valid-type]


class FailRequest(schemas.In):
    """Why a reserved publish failed (kept up to 4000 characters)."""

    reason: str = Field(min_length=1)


def _ref(ref: str) -> str:
    """`ref` if it can name a publish; raises NotFound as the service would."""
    if ref.isdigit() and int(ref) > MAX_ID:
        raise NotFound(f"no publish {ref!r}", field="publish_id")
    return ref


class LatestScope(BaseModel):
    """What a `latest_per_part` listing covered: its USD asset, and the project, target
    (shot or asset) and task it was narrowed to (null: not narrowed)."""

    asset: str
    project_id: int | None
    target_type: Literal["shot", "asset"] | None
    target_id: int | None
    task_id: int | None


class PublishList(Envelope[list[schemas.PublishOut]]):
    """Publishes; with `latest_per_part=1`, also the scope the listing used."""

    scope: LatestScope | None = None


@router.get(
    "/",
    response_model=PublishList,
    summary="Publishes newest first, or with latest_per_part=1 the latest of each part",
    operation_id="list_publishes",
)
def list_publishes(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    page: Annotated[Page, Depends(paging(200, 10_000))],
    asset: OptionalText = None,
    part: OptionalText = None,
    task_id: OptionalId = None,
    part_id: OptionalId = None,
    scene_id: OptionalId = None,
    project: CodeOrId = None,
    project_id: OptionalId = None,
    target_type: Literal["shot", "asset"] | None = None,
    target_id: OptionalId = None,
    status: Status | None = None,
    latest_per_part: bool = False,
) -> Response:
    local = backend(request)
    if not latest_per_part:
        for name, value in (
            ("project", project),
            ("project_id", project_id),
            ("target_type", target_type),
            ("target_id", target_id),
        ):
            if value is not None:
                raise ValidationError("narrows only latest_per_part=1", field=name)
        found = local.list_publishes(
            asset_name=asset,
            part_name=part,
            task_id=task_id,
            part_id=part_id,
            scene_id=scene_id,
            status=status,
            limit=page.limit,
            offset=page.offset,
        )
        return ok(found)
    if not asset:
        raise ValidationError("is needed with latest_per_part", field="asset")
    if (target_type is None) != (target_id is None):
        missing = "target_id" if target_id is None else "target_type"
        raise ValidationError("goes with target_type and target_id together", field=missing)
    if project is not None:
        named = entities.resolve(local.db, "project", project)
        if project_id is not None and project_id != named:
            raise ValidationError(f"names project {named}, project_id {project_id}", "project")
        project_id = named
    latest = local.latest_per_part(asset, project_id=project_id, task_id=task_id)
    if target_type is not None:
        latest = [p for p in latest if (p.target_type, p.target_id) == (target_type, target_id)]
    scope = LatestScope(
        asset=asset,
        project_id=project_id,
        target_type=target_type,
        target_id=target_id,
        task_id=task_id,
    )
    return ok_with(latest, scope=scope.model_dump())


def _never(what: str) -> Any:
    def refuse() -> Response:
        raise NotAllowed(
            f"a publish is a record of a file and is never {what}; deprecate it "
            "(POST /api/publishes/{id}/deprecate/) and publish a new iteration",
            allow=("GET",),
        )

    return refuse


for _method, _what in (("PUT", "replaced"), ("PATCH", "changed"), ("DELETE", "deleted")):
    router.add_api_route(
        "/{ref:publish}/", _never(_what), methods=[_method], include_in_schema=False
    )


@router.post(
    "/",
    status_code=201,
    response_model=Publish,
    summary="The project_manager API's one-call publish of a part whose data layer is written",
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


@router.get(
    "/{ref:publish}/", response_model=Publish, summary="One publish", operation_id="get_publish"
)
def get_publish(request: Request, ref: Ref, who: Annotated[Caller, Depends(caller)]) -> Response:
    return ok(backend(request).get_publish(_ref(ref)))


@router.post(
    "/{ref:publish}/complete/",
    response_model=Publish,
    summary="Mark a reserved publish published: it becomes its part's latest",
    operation_id="complete_publish",
)
def complete_publish(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(caller)]
) -> Response:
    return ok(publishing.complete(backend(request).db, who, _ref(ref)))


@router.post(
    "/{ref:publish}/fail/",
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
    "/{ref:publish}/deprecate/",
    response_model=Publish,
    summary="Withdraw a published version; the part's previous one becomes latest",
    operation_id="deprecate_publish",
)
def deprecate_publish(
    request: Request, ref: Ref, who: Annotated[Caller, Depends(caller)]
) -> Response:
    return ok(publishing.deprecate(backend(request).db, who, _ref(ref)))
