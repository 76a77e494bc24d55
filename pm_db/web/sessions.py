"""Signing in to the web view with a pm token, and the sessions that follow.

A session is two events: `web.signed_in` (about the token it was opened with; its payload
holds the SHA-256 of the session's secret) and, once it ends, `web.signed_out` (about the
session). The cookie holds the sign-in event's id and the secret, so a session needs no
table of its own, a copied database cannot forge one, and every check of a session is two
index seeks: the sign-in event by id (with its token and artist) and its sign-out.
Revoking the token, or deactivating the artist, ends every session opened with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, and_, bindparam, exists, select
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.errors import Unauthenticated
from pm_db.models import ApiToken, Artist, Event, utcnow
from pm_db.services import events
from pm_db.services.tokens import Caller, verify_token

# A working day and a half: a session opened in the morning lasts the day, never the week.
SESSION_LIFETIME = timedelta(hours=36)
SIGNED_IN = "web.signed_in"
SIGNED_OUT = "web.signed_out"


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: its session id (the sign-in event) and who it speaks for."""

    id: int
    caller: Caller

    @property
    def login(self) -> str:
        return self.caller.login


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def sign_in(db: Database, token: str, host: str | None = None) -> tuple[WebSession, str]:
    """A new session for a valid pm token, and the cookie value that carries it. Raises
    Unauthenticated for an unknown, revoked or malformed token or an inactive artist."""
    who = verify_token(db, token.strip())
    secret = secrets.token_urlsafe(32)

    def work(session: Session) -> int:
        values = events.values(
            SIGNED_IN, "api_token", who.token_id, who.artist_id, {"secret": _digest(secret)}, host
        )
        inserted = session.execute(events.INSERT.returning(events.EVENTS.c.id), values)
        return int(inserted.scalar_one())

    session_id = db.write(work)
    return WebSession(session_id, who), f"{session_id}.{secret}"


def sign_out(db: Database, current: WebSession) -> None:
    """End a session for good (a copy of its cookie no longer signs anyone in)."""
    db.write(
        lambda session: events.record(
            session, SIGNED_OUT, "web_session", current.id, current.caller.artist_id
        )
    )


_EVENTS, _TOKENS = cast(Table, Event.__table__), cast(Table, ApiToken.__table__)
_ARTISTS = cast(Table, Artist.__table__)
_ENDED = exists().where(
    and_(
        _EVENTS.c.entity_type == "web_session",
        _EVENTS.c.entity_id == bindparam("b_id"),
        _EVENTS.c.kind == SIGNED_OUT,
    )
)
_SESSION = (
    select(
        _EVENTS.c.payload,
        _EVENTS.c.created_at,
        _TOKENS.c.id.label("token_id"),
        _TOKENS.c.revoked,
        _TOKENS.c.is_admin,
        _TOKENS.c.label,
        _ARTISTS.c.id.label("artist_id"),
        _ARTISTS.c.login,
        _ARTISTS.c.active,
        _ENDED.label("ended"),
    )
    .join(_TOKENS, _TOKENS.c.id == _EVENTS.c.entity_id)
    .join(_ARTISTS, _ARTISTS.c.id == _TOKENS.c.artist_id)
    .where(_EVENTS.c.id == bindparam("b_id"), _EVENTS.c.kind == SIGNED_IN)
)


def check_session(db: Database, cookie: str) -> WebSession:
    """The live session a cookie value carries. Raises Unauthenticated when it is
    malformed, unknown, signed out, older than SESSION_LIFETIME, or its token is revoked
    or its artist inactive."""
    ident, _, secret = cookie.partition(".")
    if not ident.isdigit() or len(ident) > 18 or not secret or len(secret) > 64:
        raise Unauthenticated("the session cookie is malformed; sign in again", field="session")
    found = db.rows(_SESSION, {"b_id": int(ident)})
    stored = str(found[0].payload.get("secret", "")) if found else ""
    if not found or not hmac.compare_digest(stored, _digest(secret)):
        raise Unauthenticated("the session is unknown; sign in again", field="session")
    row = found[0]
    if row.ended:
        raise Unauthenticated("the session was signed out; sign in again", field="session")
    if utcnow() - row.created_at > SESSION_LIFETIME:
        raise Unauthenticated("the session has expired; sign in again", field="session")
    if row.revoked:
        raise Unauthenticated("the token of this session was revoked", field="session")
    if not row.active:
        raise Unauthenticated(f"artist {row.login!r} is inactive", field="session")
    who = Caller(row.token_id, row.artist_id, row.login, row.is_admin, row.label)
    return WebSession(int(ident), who)
