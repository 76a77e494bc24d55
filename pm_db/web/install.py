"""Mounting the web view on pm's app: its pages, its static files, the offline API docs
page, and its errors as pages, an unexpected one included (the API's routes keep their
JSON envelope)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pm_db.api.envelope import DATA_ERROR, INTEGRITY_ERROR
from pm_db.errors import PmError
from pm_db.web import docs, pages

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

# Pages load only what pm serves; Swagger UI sets inline styles and data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    422: "Invalid request",
    500: "Something went wrong",
    503: "Database unavailable",
}
UNEXPECTED = (
    "the server could not show this page; try again in a moment. If it keeps failing, "
    "tell the pipeline team the page's address and the time: the server log has the details"
)
PLAIN_ERROR = (
    "<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1>"
    f'<p>{UNEXPECTED}.</p><p><a href="/">Back to the show</a></p>'
)
log = logging.getLogger(__name__)


def is_page(request: Request) -> bool:
    """Whether a request is for the web view (anything outside `/api/`)."""
    return not request.url.path.startswith("/api/")


def error_page(request: Request, status: int, message: str, field: str | None) -> Response:
    """The page of a failed request: what went wrong and what to do, never internals."""
    context = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "message": message,
        "field": field,
    }
    return pages.render(request, "error.html", context, status)


def unexpected_error(request: Request) -> Response:
    """The page of an error nobody foresaw (pm_db.api.envelope.Guard logs its traceback):
    what to do, nothing of the internals. A page that cannot be drawn is plain HTML."""
    try:
        return error_page(request, 500, UNEXPECTED, None)
    except Exception:
        log.exception("the error page could not be drawn for %s", request.url.path)
        return HTMLResponse(PLAIN_ERROR, status_code=500)


def _data_error(request: Request, exc: DataError) -> Response:
    log.warning("database refused a value on %s %s", request.method, request.url.path)
    return error_page(request, 422, DATA_ERROR, None)


def _integrity_error(request: Request, exc: IntegrityError) -> Response:
    log.warning("integrity error on %s %s", request.method, request.url.path)
    return error_page(request, 409, INTEGRITY_ERROR, None)


def _pm_error(request: Request, exc: PmError) -> Response:
    if isinstance(exc, pages.SignInNeeded):
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        if request.cookies.get(pages.COOKIE):
            response.delete_cookie(pages.COOKIE, path="/", httponly=True, samesite="lax")
        return response
    return error_page(request, exc.http_status, exc.message, exc.field)


def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 404:
        message = f"there is no page {request.url.path}; start again from the show"
    elif exc.status_code == 405:
        message = f"{request.url.path} does not take {request.method}: the web view only reads"
    else:
        message = str(exc.detail)
    return error_page(request, exc.status_code, message, None)


def _request_validation(request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ())]
    field = location[-1] if location else None
    return error_page(request, 422, str(first.get("msg", "invalid")), field)


def _either(app: FastAPI, kind: type[Exception], page: Handler) -> None:
    """Route failures of `kind` to `page` for the web view, to the API's handler else."""
    api = app.exception_handlers[kind]

    async def handler(request: Request, exc: Exception) -> Response:
        found = page(request, exc) if is_page(request) else api(request, exc)
        return await found if isinstance(found, Awaitable) else found

    app.add_exception_handler(kind, handler)


def install(app: FastAPI) -> None:
    """Mount the web view on `app`, after pm_db.api.envelope.install."""
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static")
    _either(app, PmError, _pm_error)
    _either(app, HTTPException, _http_error)
    _either(app, RequestValidationError, _request_validation)
    _either(app, DataError, _data_error)
    _either(app, IntegrityError, _integrity_error)
    app.add_middleware(PageHeaders)


class PageHeaders:
    """Adds the security headers to every answer outside `/api/` (plain ASGI: the API's
    requests pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
