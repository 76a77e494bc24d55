"""Who is calling: the token of `Authorization: Bearer <token>` (or `Token <token>`).

Every route but the health check and the API document needs a token: reads too, because
the service answers with the show's paths, and farm nodes and vendors reach it over the
network. A token may save and publish as its own artist only; an admin token may act for
any artist and manage projects, sequences, shots, assets, artists and tasks. Tokens are
never logged: they travel in a header, never in the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pm_db.api.state import database
from pm_db.errors import PermissionDenied, Unauthenticated
from pm_db.services.tokens import Caller, verify_token

SCHEMES = ("bearer", "token")


def token_of(request: Request) -> str:
    """The token a request carries; raises Unauthenticated if it carries none."""
    header = request.headers.get("authorization", "").strip()
    if not header:
        raise Unauthenticated(
            "send `Authorization: Bearer <token>` (create one with `pm token create`)",
            field="Authorization",
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in SCHEMES or not token.strip():
        raise Unauthenticated("must be `Bearer <token>` or `Token <token>`", "Authorization")
    return token.strip()


def caller(request: Request) -> Caller:
    """The caller of a request (FastAPI dependency); raises Unauthenticated."""
    return verify_token(database(request), token_of(request))


async def bearer(request: Request) -> str:
    """The token a request carries, not yet checked (FastAPI dependency; async, so it runs
    inline): for a route that checks it in its own worker-thread call (`as_caller`).
    Raises Unauthenticated if the request carries none."""
    return token_of(request)


async def as_caller(request: Request, token: str, work: Callable[[Caller], Response]) -> Response:
    """Check `token`, then run `work(caller)`, in one worker-thread call: what the save and
    publish routes use, where a `caller` dependency would cost a second thread handoff
    (about 0.1 ms). Raises Unauthenticated."""
    return await run_in_threadpool(lambda: work(verify_token(database(request), token)))


def admin(request: Request) -> Caller:
    """The caller, who must hold an admin token; raises Unauthenticated, PermissionDenied."""
    who = caller(request)
    if not who.is_admin:
        raise PermissionDenied("needs an admin token", field="Authorization")
    return who


def check_acts_as(who: Caller, artist: str, what: str) -> None:
    """Refuse a non-admin caller acting for another artist; raises PermissionDenied."""
    who.check_acts_as(artist, what)


def acting_as(who: Caller, data: Any, what: str) -> Any:
    """A request body acting for the caller: its `artist` defaults to the token's artist
    and must be it unless the token is an admin's. Raises PermissionDenied."""
    if isinstance(data, dict):
        data.setdefault("artist", who.login)
        if isinstance(data["artist"], str):
            check_acts_as(who, data["artist"].strip(), what)
    return data
