"""`/api/parts/`: a part's state (latest, pinned, in use, withdrawn), pin and unpin it,
withdraw it from its asset and restore it, and rebuild the stable layers (admin).

The same backend functions as `pm part ...` and the asset browser: the layer files change
exactly as they would locally. A token acts as its own artist (`artist` may be left out);
an admin token may name anyone.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from pm_db.api.auth import acting_as, admin, caller
from pm_db.api.entities import Ident
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, ok
from pm_db.api.inputs import json_body
from pm_db.api.openapi import body
from pm_db.api.state import backend
from pm_db.services.parts import PartOut, PartRequest, PinRequest
from pm_db.services.tokens import Caller
from pm_db.usd.layers import RebuildReport

router = APIRouter(prefix="/api/parts", tags=["parts"], responses=ERROR_RESPONSES)

OptionalName = Annotated[str | None, Query(min_length=1, max_length=200)]
PartRef = Annotated[str, Query(min_length=1, max_length=200, description="id or ASSET/PART")]


@router.get(
    "/",
    response_model=Envelope[list[PartOut]],
    summary="Parts, optionally of one USD asset and project",
    operation_id="list_parts",
)
def list_parts(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    asset: OptionalName = None,
    project: OptionalName = None,
) -> Response:
    return ok(backend(request).list_parts(asset, project))


@router.get(
    "/find/",
    response_model=Envelope[PartOut],
    summary="One part by id or ASSET/PART (and project when the name is not unique)",
    operation_id="find_part",
)
def find_part(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    part: PartRef,
    project: OptionalName = None,
) -> Response:
    return ok(backend(request).get_part(part, project))


@router.get(
    "/{id:int}/", response_model=Envelope[PartOut], summary="One part", operation_id="get_part"
)
def get_part(request: Request, id: Ident, who: Annotated[Caller, Depends(caller)]) -> Response:
    return ok(backend(request).get_part(id))


def _change(verb: str, model: type[PartRequest], summary: str) -> None:
    def change(
        request: Request,
        who: Annotated[Caller, Depends(caller)],
        data: Annotated[Any, Depends(json_body)],
    ) -> Response:
        method = getattr(backend(request), f"{verb}_part")
        return ok(method(acting_as(who, data, "change parts")))

    router.add_api_route(
        f"/{verb}/",
        change,
        methods=["POST"],
        response_model=Envelope[PartOut],
        summary=summary,
        operation_id=f"{verb}_part",
        openapi_extra=body(model),
    )


_change("pin", PinRequest, "Hold a part at a publish (or version and iteration)")
_change("unpin", PartRequest, "Let a part follow its latest publish again")
_change("withdraw", PartRequest, "Leave a part out of its asset layer (history stays)")
_change("restore", PartRequest, "Put a withdrawn part back into its asset layer")


@router.post(
    "/rebuild/",
    response_model=Envelope[RebuildReport],
    summary="Rewrite the stable layers from the database (admin)",
    operation_id="rebuild_layers",
)
def rebuild(
    request: Request,
    who: Annotated[Caller, Depends(admin)],
    asset: OptionalName = None,
    project: OptionalName = None,
) -> Response:
    return ok(backend(request).rebuild_layers(asset, project))
