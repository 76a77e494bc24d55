"""The original API's envelope: `{"ok": true, "data": ...}` or `{"ok": false, "error": {code,
message, field}}`, and the one mapping from every failure to an HTTP status.

pm's own errors keep their code and field (pm_db.errors); a malformed request, an unknown
route or an oversized body get the same envelope with a 4xx; anything unexpected is a 500
whose message reveals nothing of the server (the traceback goes to the server log).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pm_db.api.inputs import redacted, token_in_url
from pm_db.config import mask_url
from pm_db.errors import Conflict, PmError, Unauthenticated, Unavailable, ValidationError

log = logging.getLogger("pm.api")

T = TypeVar("T")

JSON = "application/json"


class Envelope(BaseModel, Generic[T]):
    """A successful answer."""

    ok: Literal[True] = True
    data: T


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorEnvelope(BaseModel):
    """A refused or failed request."""

    ok: Literal[False] = False
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Malformed JSON"),
        (401, "No token, or a token that is unknown or revoked"),
        (403, "The token may not do this"),
        (404, "No such record or route"),
        (405, "The route does not take this method; `Allow` lists those it takes"),
        (409, "Conflicts with what the database holds"),
        (413, "Body larger than the limit"),
        (422, "Invalid input; `field` names the culprit"),
        (503, "The database cannot be reached"),
    )
}


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


def ok(data: Any, status: int = 200) -> Response:
    """The success envelope around `data` (a pydantic model, a list of them, or plain)."""
    if isinstance(data, BaseModel):
        body = b'{"ok":true,"data":' + data.__pydantic_serializer__.to_json(data) + b"}"
    else:
        body = json.dumps({"ok": True, "data": _dump(data)}, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type=JSON)


def ok_with(data: Any, **beside: Any) -> Response:
    """The success envelope around `data`, with more top-level keys `beside` it."""
    body = {"ok": True, "data": _dump(data), **beside}
    return Response(json.dumps(body, separators=(",", ":")).encode(), media_type=JSON)


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error envelope with `status`."""
    body = {"ok": False, "error": {"code": code, "message": mask_url(message), "field": field}}
    return Response(json.dumps(body).encode(), status, headers=headers, media_type=JSON)


class NotAllowed(PmError):
    """An operation pm never does on this route (HTTP 405); the message says what to do
    instead, `allow` lists the methods the route takes."""

    code = "method_not_allowed"
    http_status = 405
    exit_code = 2

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


def allowed_methods(request: Request) -> tuple[str, ...]:
    """The methods the API document gives the request's path."""
    index: list[tuple[re.Pattern[str], tuple[str, ...]]] | None = getattr(
        request.app.state, "allow_index", None
    )
    if index is None:
        paths: dict[str, dict[str, Any]] = request.app.openapi()["paths"]
        index = [(_path_regex(path, item), _methods(item)) for path, item in paths.items()]
        request.app.state.allow_index = index
    found: set[str] = set()
    for pattern, methods in index:
        if pattern.fullmatch(request.url.path):
            found.update(methods)
    return tuple(sorted(found))


_VERBS = ("get", "put", "post", "delete", "patch", "head", "options")


def _methods(item: dict[str, Any]) -> tuple[str, ...]:
    return tuple(verb.upper() for verb in item if verb in _VERBS)


def _path_regex(path: str, item: dict[str, Any]) -> re.Pattern[str]:
    """What a documented path matches: its path parameters as their schemas say (the
    routes' convertors: digits for an id, a publish reference's pattern)."""
    shapes: dict[str, str] = {}
    for verb in _VERBS:
        for parameter in item.get(verb, {}).get("parameters", []):
            if parameter.get("in") != "path":
                continue
            schema = parameter.get("schema", {})
            if schema.get("type") == "integer":
                shapes[parameter["name"]] = "[0-9]+"
            elif "pattern" in schema:
                shapes[parameter["name"]] = f"(?:{schema['pattern'].strip('^$')})"
    parts = re.split(r"\{([^/]+?)\}", path)
    regex = "".join(
        shapes.get(part, "[^/]+") if odd else re.escape(part)
        for odd, part in ((i % 2 == 1, p) for i, p in enumerate(parts))
    )
    return re.compile(regex)


_HTTP_CODES = {
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
}


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    if exc.status_code == 405:
        allow = allowed_methods(request)
        message = f"{request.url.path} does not take {request.method}; it takes {', '.join(allow)}"
        return error_response(405, code, message, headers={"Allow": ", ".join(allow)})
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message)


def _request_validation(request: Request, exc: Exception) -> Response:
    """Query and path parameters FastAPI checked: name the parameter, not its location."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    field = location[-1] if len(location) > 1 else (location[0] if location else None)
    return error_response(422, ValidationError.code, str(first.get("msg", "invalid")), field)


RETRY_AFTER_SECONDS = 2
"""What a 503 asks a client to wait: a PostgreSQL restart takes a few seconds."""


def _pm_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PmError)
    headers = {"Allow": ", ".join(exc.allow)} if isinstance(exc, NotAllowed) else None
    if isinstance(exc, Unavailable):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return error_response(exc.http_status, exc.code, exc.message, exc.field, headers)


DATA_ERROR = "a value is too long or malformed for the database"
INTEGRITY_ERROR = "conflicts with a record the database holds"
"""What a database refusal (DataError, IntegrityError) answers, as JSON or as a page."""


def _data_error(request: Request, exc: Exception) -> Response:
    # A value the input models let through but the database column cannot hold.
    log.warning("database refused a value on %s %s", request.method, request.url.path)
    return error_response(422, ValidationError.code, DATA_ERROR)


def _integrity_error(request: Request, exc: Exception) -> Response:
    log.warning("integrity error on %s %s", request.method, request.url.path)
    return error_response(409, Conflict.code, INTEGRITY_ERROR)


def install(app: FastAPI, page_error: PageError | None = None) -> None:
    """Map every failure of `app` to the envelope; `/api/x` answers as `/api/x/`. With
    `page_error`, an unexpected error outside `/api/` answers the response it makes (the
    web view's error page) instead of the envelope."""
    app.add_exception_handler(PmError, _pm_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    exempt = tuple(url for url in (app.openapi_url, app.docs_url) if url)
    app.add_middleware(Guard, exempt=exempt, page_error=page_error)


TOKEN_IN_URL = (
    "a token travels only in the `Authorization: Bearer <token>` header, never in the URL, "
    "where proxies and logs keep it; revoke this one (`pm token revoke`) and use a new one"
)


PageError = Callable[[Request], Response]
"""What answers an unexpected error on a request outside `/api/` (a web page)."""


class Guard:
    """Outermost layer of pm's app: refuses a token in the query string (and redacts it
    before anything can log it), lets `/api/x` mean `/api/x/` (the original API's routes
    end in a slash, clients often drop it), and turns an unexpected exception into the 500
    envelope (a web page: the page `page_error` makes), logging the traceback, so no
    request ever sees server internals."""

    def __init__(
        self, app: ASGIApp, exempt: tuple[str, ...] = (), page_error: PageError | None = None
    ) -> None:
        self.app = app
        self.exempt = exempt
        self.page_error = page_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        carrier = token_in_url(query) if query else None
        if carrier is not None:
            # The server's access log reads this same scope once the answer is sent.
            scope["query_string"] = redacted(query).encode("latin-1")
            await error_response(401, Unauthenticated.code, TOKEN_IN_URL, carrier)(
                scope, receive, send
            )
            return
        path: str = scope["path"]
        if path.startswith("/api/") and not path.endswith("/") and path not in self.exempt:
            scope = {**scope, "path": path + "/"}
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope["path"])
            if started:
                raise
            if self.page_error is not None and not path.startswith("/api/"):
                response = self.page_error(Request(scope))
            else:
                response = error_response(
                    500, "internal_error", "internal error; the server log has the details"
                )
            await response(scope, receive, send)
