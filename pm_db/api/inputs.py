"""What the service accepts from the wire: a bounded JSON body read by the one JSON reader
(pm_db.schemas.load_json), query parameters the route declares, paging as Django REST
framework clients send it, and no token in a URL. The models in pm_db.schemas check the
meaning; this module checks the transport."""

# No `from __future__ import annotations` here: FastAPI evaluates the annotations of the
# function `paging` returns, which name `paging`'s own arguments.
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from pm_db.errors import ValidationError
from pm_db.schemas import MAX_ID, check_json, check_text, load_json

# The original API's payloads are a few kilobytes; metadata is bounded at 64 KiB.
MAX_BODY_BYTES = 256 * 1024
TOKEN_PARAMETERS = frozenset(
    ("token", "access_token", "auth_token", "api_key", "apikey", "authorization")
)
"""Query parameters that would carry a token in the URL, where proxies and logs keep it."""
# What `pm token create` hands out: pm_ and 43 URL-safe characters.
TOKEN_SHAPE = re.compile(r"pm_[A-Za-z0-9_\-]{40,}")


class MalformedBody(ValidationError):
    """The body is not JSON at all (HTTP 400)."""

    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message, field="body")


class BodyTooLarge(ValidationError):
    """The body is larger than MAX_BODY_BYTES (HTTP 413)."""

    http_status = 413

    def __init__(self) -> None:
        super().__init__(f"is larger than {MAX_BODY_BYTES} bytes", field="body")


class UnknownParameter(ValidationError):
    """A query parameter the route does not take (HTTP 400): never silently ignored."""

    http_status = 400


async def json_body(request: Request) -> Any:
    """The request body as checked JSON, read up to MAX_BODY_BYTES whatever the content
    type says. Raises ValidationError naming `body` (HTTP 400 malformed, 413 too large)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
    try:
        data = load_json(b"".join(chunks), field="body")
    except ValidationError as exc:
        raise MalformedBody(exc.message) from None
    # Before any route reads a field of it (the caller's `artist`, say).
    check_json(data)
    return data


def _declared(route: APIRoute) -> frozenset[str]:
    """The query parameters `route` declares (its dependencies' too), worked out once."""
    known: frozenset[str] | None = getattr(route, "pm_query_params", None)
    if known is None:
        known = _query_params(route.dependant)
        route.pm_query_params = known  # type: ignore[attr-defined]
    return known


def _query_params(top: Dependant) -> frozenset[str]:
    names: set[str] = set()
    pending: list[Dependant] = [top]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


def token_in_url(query: str) -> str | None:
    """The name of the query parameter that carries a token, if any."""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in TOKEN_PARAMETERS or TOKEN_SHAPE.search(value):
            return name
    return None


def redacted(query: str) -> str:
    """`query` with every value replaced by ***: what may be logged of a refused URL."""
    return urlencode([(name, "***") for name, _ in parse_qsl(query, keep_blank_values=True)])


async def check_params(
    request: Request,
    format: Annotated[
        Literal["json"] | None,
        Query(description="Django REST framework's format parameter: pm answers JSON only"),
    ] = None,
) -> None:
    """Every path and query parameter passes check_text, and every query parameter is one
    the route declares. Raises ValidationError naming the parameter (HTTP 400 for one the
    route does not know). (Async only so that FastAPI runs it inline, not on a worker
    thread.)"""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, name)
    route = request.scope.get("route")
    known = _declared(route) | {"format"} if isinstance(route, APIRoute) else frozenset()
    for name, value in request.query_params.multi_items():
        check_text(name, name)
        check_text(value, name)
        if isinstance(route, APIRoute) and route.include_in_schema and name not in known:
            takes = ", ".join(sorted(known - {"format"})) or "no parameters"
            raise UnknownParameter(f"is not a parameter of this route (it takes {takes})", name)


@dataclass(frozen=True)
class Page:
    """Which rows of a listing to answer."""

    limit: int
    offset: int


def paging(default: int, maximum: int) -> Any:
    """A dependency reading `limit` and `offset`, or Django REST framework's `page` and
    `page_size` (page 1 is the first), into a Page of at most `maximum` rows."""

    def page_of(
        limit: Annotated[int | None, Query(ge=1, le=maximum)] = None,
        offset: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
        page: Annotated[int | None, Query(ge=1, le=MAX_ID, description="from 1")] = None,
        page_size: Annotated[int | None, Query(ge=1, le=maximum)] = None,
    ) -> Page:
        if limit is not None and page_size is not None and limit != page_size:
            raise ValidationError("is limit under another name; give one of them", "page_size")
        size = page_size or limit or default
        if page is None:
            return Page(size, offset or 0)
        if offset is not None:
            raise ValidationError("counts from page; give page or offset, not both", "offset")
        start = (page - 1) * size
        if start > MAX_ID:
            raise ValidationError(f"starts past row {MAX_ID}", field="page")
        return Page(size, start)

    return page_of
