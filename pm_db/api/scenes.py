"""`/api/scenes/`: save a work file (the next number and the path to write), list, find by
path, retrieve, discard a save whose file was never written. A token saves as its own
artist; `artist` may be left out and is then the token's. A saved scene is a record of a
file: it is never replaced, changed or deleted (405; save a new iteration, or discard)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field
from starlette.responses import Response

from pm_db import schemas
from pm_db.api.auth import acting_as, as_caller, bearer, caller, check_acts_as
from pm_db.api.entities import Ident, OptionalId, OptionalText
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, NotAllowed, ok
from pm_db.api.inputs import Page, json_body, paging
from pm_db.api.openapi import body
from pm_db.api.state import backend
from pm_db.errors import ValidationError
from pm_db.services import scenes
from pm_db.services.tokens import Caller

router = APIRouter(prefix="/api/scenes", tags=["scenes"], responses=ERROR_RESPONSES)
MAX_SCENES = 10_000


@router.post(
    "/",
    status_code=201,
    response_model=Envelope[schemas.SceneOut],
    summary="Save: record the next iteration (or version with version_up) and get its path",
    operation_id="save_scene",
    openapi_extra=body(schemas.SaveRequest, defaulted=("artist",)),
)
async def save_scene(
    request: Request,
    token: Annotated[str, Depends(bearer)],
    data: Annotated[Any, Depends(json_body)],
) -> Response:
    def work(who: Caller) -> Response:
        return ok(backend(request).save_scene(acting_as(who, data, "save scenes")), status=201)

    return await as_caller(request, token, work)


@router.get(
    "/",
    response_model=Envelope[list[schemas.SceneOut]],
    summary="Saved scenes, newest first",
    operation_id="list_scenes",
)
def list_scenes(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    page: Annotated[Page, Depends(paging(200, MAX_SCENES))],
    task_id: OptionalId = None,
    artist: OptionalText = None,
    name: OptionalText = None,
) -> Response:
    # Newest first: a page past the first reads the rows before it too, so the depth is
    # bounded; a filter by task or name reaches older saves.
    if page.offset + page.limit > MAX_SCENES:
        raise ValidationError(f"reaches past the newest {MAX_SCENES} saves; filter", "offset")
    found = scenes.list_scenes(
        backend(request).db,
        task_id=task_id,
        artist=artist,
        name=name,
        limit=page.offset + page.limit,
    )
    return ok(found[page.offset :])


@router.get(
    "/find/",
    response_model=Envelope[schemas.SceneOut],
    summary="The saved scene recorded for a hip file path (under any platform's root)",
    operation_id="find_scene_by_path",
)
def find_scene(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    path: Annotated[str, Query(min_length=1, max_length=4096)],
) -> Response:
    return ok(backend(request).find_scene_by_path(path))


@router.get(
    "/{id:int}/",
    response_model=Envelope[schemas.SceneOut],
    summary="One saved scene",
    operation_id="get_scene",
)
def get_scene(request: Request, id: Ident, who: Annotated[Caller, Depends(caller)]) -> Response:
    return ok(backend(request).get_scene(id))


class DiscardRequest(schemas.In):
    """Why the save's file was never written (kept up to 4000 characters)."""

    reason: str = Field(min_length=1)


@router.post(
    "/{id:int}/discard/",
    response_model=Envelope[schemas.SceneOut],
    summary="Remove the record of a save whose file could not be written; its number stays used",
    operation_id="discard_scene",
    openapi_extra=body(DiscardRequest),
)
def discard_scene(
    request: Request,
    id: Ident,
    who: Annotated[Caller, Depends(caller)],
    data: Annotated[Any, Depends(json_body)],
) -> Response:
    reason = schemas.parse(DiscardRequest, data).reason
    if not who.is_admin:
        check_acts_as(who, backend(request).get_scene(id).artist, "discard saves")
    return ok(backend(request).discard_scene(id, reason))


def _never(what: str) -> Any:
    def refuse() -> Response:
        raise NotAllowed(
            f"a saved scene is a record of a file and is never {what}; save a new iteration "
            "(POST /api/scenes/), or discard a save whose file was never written "
            "(POST /api/scenes/{id}/discard/)",
            allow=("GET",),
        )

    return refuse


for _method, _what in (("PUT", "replaced"), ("PATCH", "changed"), ("DELETE", "deleted")):
    router.add_api_route("/{id:int}/", _never(_what), methods=[_method], include_in_schema=False)
