"""`/api/projects/`, `/api/sequences/`, `/api/shots/`, `/api/assets/`, `/api/artists/`,
`/api/tasks/`: list, find, retrieve (any token); create, replace (PUT), change (PATCH),
delete (admin token), as Django REST framework clients expect them.

One set of routes per kind of pm_db.services.entities, which does the work and the checks.
Lists filter by a parent's id (`?project_id=1`) or its code (`?project=FX3X`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from pm_db import schemas
from pm_db.api.auth import admin, caller
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, ok
from pm_db.api.inputs import Page, json_body, paging
from pm_db.api.openapi import body
from pm_db.api.state import database
from pm_db.services import entities
from pm_db.services.entities import Kind
from pm_db.services.tokens import Caller

MAX_ID = schemas.MAX_ID
Ident = Annotated[int, Path(ge=1, le=MAX_ID, description="record id")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
OptionalText = Annotated[str | None, Query(min_length=1, max_length=64)]
CodeOrId = Annotated[
    str | None, Query(min_length=1, max_length=64, description="a code (login), or an id")
]
LookupKey = Annotated[str, Query(min_length=1, max_length=200)]


def plural(kind: str) -> str:
    return f"{kind}s"


def _filter_type(name: str) -> Any:
    if name in entities.CODE_FILTERS:
        return CodeOrId
    if name.endswith("_id"):
        return OptionalId
    if name == "active":
        return bool | None
    return OptionalText


def _with_query(
    func: Callable[..., Response], optional: tuple[str, ...], required: dict[str, Any] | None = None
) -> Any:
    """`func` with query parameters added to its signature, so that FastAPI checks and
    documents them: `optional` ones (typed by name, default None), then `required` ones
    (name -> annotation). They reach `func` as keyword arguments."""
    signature = inspect.signature(func)
    fixed = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    keyword = inspect.Parameter.KEYWORD_ONLY
    added = [
        inspect.Parameter(name, keyword, annotation=_filter_type(name), default=None)
        for name in optional
    ]
    added += [inspect.Parameter(n, keyword, annotation=a) for n, a in (required or {}).items()]
    func.__signature__ = signature.replace(parameters=fixed + added)  # type: ignore[attr-defined]
    return func


def _routes(router: APIRouter, kind: Kind) -> None:
    name = kind.name
    base = f"/api/{plural(name)}/"
    out = Envelope[kind.out_schema]  # type: ignore[name-defined]
    many = Envelope[list[kind.out_schema]]  # type: ignore[name-defined]
    tags: list[str | Enum] = [plural(name)]

    def list_kind(
        request: Request,
        who: Annotated[Caller, Depends(caller)],
        page: Annotated[Page, Depends(paging(1000, entities.MAX_BATCH))],
        **filters: Any,
    ) -> Response:
        given = {k: v for k, v in filters.items() if v is not None}
        db = database(request)
        return ok(entities.list_(db, name, limit=page.limit, offset=page.offset, **given))

    # entities.find scopes by the kind's own columns only (a shot has no project_id).
    scopes = tuple(f for f in kind.filters if f.endswith("_id") and hasattr(kind.model, f))

    def find_kind(
        request: Request, who: Annotated[Caller, Depends(caller)], **scope: Any
    ) -> Response:
        key = scope.pop(kind.lookup)
        given = {k: v for k, v in scope.items() if v is not None}
        return ok(entities.find(database(request), name, key, **given))

    def get_kind(request: Request, id: Ident, who: Annotated[Caller, Depends(caller)]) -> Response:
        return ok(entities.get(database(request), name, id))

    def create_kind(
        request: Request,
        who: Annotated[Caller, Depends(admin)],
        data: Annotated[Any, Depends(json_body)],
    ) -> Response:
        return ok(entities.create(database(request), name, data), status=201)

    def update_kind(
        request: Request,
        id: Ident,
        who: Annotated[Caller, Depends(admin)],
        data: Annotated[Any, Depends(json_body)],
    ) -> Response:
        return ok(entities.update(database(request), name, id, data))

    def replace_kind(
        request: Request,
        id: Ident,
        who: Annotated[Caller, Depends(admin)],
        data: Annotated[Any, Depends(json_body)],
    ) -> Response:
        return ok(entities.replace(database(request), name, id, data))

    def delete_kind(
        request: Request, id: Ident, who: Annotated[Caller, Depends(admin)]
    ) -> Response:
        entities.delete(database(request), name, id)
        return ok({"deleted": name, "id": id})

    router.add_api_route(
        base,
        _with_query(list_kind, kind.filters + entities.code_filters(kind)),
        methods=["GET"],
        response_model=many,
        summary=f"List {plural(name)}",
        tags=tags,
        operation_id=f"list_{plural(name)}",
    )
    router.add_api_route(
        f"{base}find/",
        _with_query(find_kind, scopes, {kind.lookup: LookupKey}),
        methods=["GET"],
        response_model=out,
        summary=f"Find one {name} by its {kind.lookup} (case-insensitive)",
        tags=tags,
        operation_id=f"find_{name}",
    )
    router.add_api_route(
        f"{base}{{id:int}}/",
        get_kind,
        methods=["GET"],
        response_model=out,
        summary=f"Get one {name}",
        tags=tags,
        operation_id=f"get_{name}",
    )
    router.add_api_route(
        base,
        create_kind,
        methods=["POST"],
        status_code=201,
        response_model=out,
        summary=f"Create a {name} (admin)",
        tags=tags,
        operation_id=f"create_{name}",
        openapi_extra=body(kind.create_schema),
    )
    router.add_api_route(
        f"{base}{{id:int}}/",
        replace_kind,
        methods=["PUT"],
        response_model=out,
        summary=f"Replace a {name} with a whole record (admin)",
        tags=tags,
        operation_id=f"replace_{name}",
        openapi_extra=body(kind.create_schema),
    )
    router.add_api_route(
        f"{base}{{id:int}}/",
        update_kind,
        methods=["PATCH"],
        response_model=out,
        summary=f"Change fields of a {name} (admin)",
        tags=tags,
        operation_id=f"update_{name}",
        openapi_extra=body(kind.update_schema),
    )
    router.add_api_route(
        f"{base}{{id:int}}/",
        delete_kind,
        methods=["DELETE"],
        response_model=Envelope[dict[str, Any]],
        summary=f"Delete a {name} nothing refers to (admin)",
        tags=tags,
        operation_id=f"delete_{name}",
    )


def router() -> APIRouter:
    """The routes of every entity kind."""
    routes = APIRouter(responses=ERROR_RESPONSES)
    for kind in entities.KINDS.values():
        _routes(routes, kind)
    return routes
