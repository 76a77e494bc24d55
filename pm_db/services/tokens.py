"""REST tokens: one per artist and use (a workstation, a farm pool, an outsourced vendor).

A token is shown once, when it is created; the database keeps only its SHA-256, so a copy
of the database cannot be used to call the service. `verify_token` turns the secret an HTTP
client sent into the caller it speaks for. Admin tokens may manage the studio's entities.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.errors import NotFound, PermissionDenied, Unauthenticated, ValidationError
from pm_db.models import ApiToken, Artist, utcnow
from pm_db.services import events
from pm_db.services.scenes import artist_by_login

PREFIX = "pm_"
MAX_LABEL = 200
# Recording every use would turn each read into a write; a minute is precise enough to
# tell a live token from a forgotten one.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenOut(BaseModel):
    """A token as listed: never the secret, never its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    artist: str
    label: str
    is_admin: bool
    revoked: bool
    created_at: datetime
    last_used_at: datetime | None


class NewToken(TokenOut):
    """A token just created, with its secret: the only time the secret is shown."""

    token: str


@dataclass(frozen=True)
class Caller:
    """Who an HTTP request speaks for."""

    token_id: int
    artist_id: int
    login: str
    is_admin: bool
    label: str

    def check_acts_as(self, artist: str, what: str) -> None:
        """Refuse a non-admin caller acting for another artist; raises PermissionDenied."""
        if self.is_admin or artist.lower() == self.login:
            return
        raise PermissionDenied(
            f"the token is {self.login!r}'s; it cannot {what} of artist {artist.lower()!r}",
            field="artist",
        )


def hash_token(secret: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _out(token: ApiToken, login: str) -> TokenOut:
    return TokenOut(
        id=token.id,
        artist=login,
        label=token.label,
        is_admin=token.is_admin,
        revoked=token.revoked,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
    )


def create_token(db: Database, artist: str, label: str = "", is_admin: bool = False) -> NewToken:
    """A new token for the active artist `artist` (a login); the secret is in `.token` and
    is never shown again. Raises ValidationError (label, inactive artist), NotFound."""
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise ValidationError(f"must be at most {MAX_LABEL} characters", field="label")
    secret = PREFIX + secrets.token_urlsafe(32)

    def work(session: Session) -> NewToken:
        owner = artist_by_login(session, artist)
        token = ApiToken(
            artist_id=owner.id,
            token_hash=hash_token(secret),
            label=label,
            is_admin=is_admin,
            revoked=False,
            created_at=utcnow(),
        )
        session.add(token)
        session.flush()
        events.record(
            session,
            "token.created",
            "api_token",
            token.id,
            owner.id,
            {"label": label, "is_admin": is_admin},
        )
        return NewToken(**_out(token, owner.login).model_dump(), token=secret)

    return db.write(work)


def verify_token(db: Database, secret: str) -> Caller:
    """The caller a token speaks for. Raises Unauthenticated for an unknown or revoked
    token or an inactive artist."""
    if not secret.startswith(PREFIX) or len(secret) > 128:
        raise Unauthenticated("the token is not a pm token", field="Authorization")
    found = db.rows(_BY_HASH, {"b_hash": hash_token(secret)})
    if not found or found[0].revoked:
        raise Unauthenticated("the token is unknown or revoked", field="Authorization")
    token = found[0]
    if not token.active:
        raise Unauthenticated(f"artist {token.login!r} is inactive", field="Authorization")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        db.write(
            lambda session: session.execute(
                update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
        )
    return Caller(token.id, token.artist_id, token.login, token.is_admin, token.label)


# Every authenticated request runs this: one prebuilt statement of table columns (plain
# Core, no ORM work).
_TOKENS, _ARTISTS = cast(Table, ApiToken.__table__), cast(Table, Artist.__table__)
_BY_HASH = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.revoked,
        _TOKENS.c.last_used_at,
        _TOKENS.c.is_admin,
        _TOKENS.c.label,
        _TOKENS.c.artist_id,
        _ARTISTS.c.login,
        _ARTISTS.c.active,
    )
    .join(_ARTISTS, _ARTISTS.c.id == _TOKENS.c.artist_id)
    .where(_TOKENS.c.token_hash == bindparam("b_hash"))
)


def revoke_token(db: Database, token_id: int) -> TokenOut:
    """Revoke a token for good; revoking twice is harmless. Raises NotFound."""

    def work(session: Session) -> TokenOut:
        row = session.execute(
            select(ApiToken, Artist.login)
            .join(Artist, Artist.id == ApiToken.artist_id)
            .where(ApiToken.id == token_id)
        ).first()
        if row is None:
            raise NotFound(f"no token with id {token_id}", field="id")
        token, login = row
        if not token.revoked:
            token.revoked = True
            session.flush()
            events.record(session, "token.revoked", "api_token", token.id, token.artist_id)
        return _out(token, login)

    return db.write(work)


def list_tokens(db: Database, artist: str | None = None) -> list[TokenOut]:
    """Tokens in creation order, optionally of one artist (a login)."""

    def work(session: Session) -> list[TokenOut]:
        query = (
            select(ApiToken, Artist.login)
            .join(Artist, Artist.id == ApiToken.artist_id)
            .order_by(ApiToken.id)
        )
        if artist:
            query = query.where(Artist.login == artist.strip().lower())
        return [_out(token, login) for token, login in session.execute(query)]

    return db.read(work)


def has_active_token(db: Database) -> bool:
    """Whether any token could call the service (not revoked, artist active)."""

    def work(session: Session) -> bool:
        found = session.scalar(
            select(ApiToken.id)
            .join(Artist, Artist.id == ApiToken.artist_id)
            .where(ApiToken.revoked.is_(False), Artist.active.is_(True))
            .limit(1)
        )
        return found is not None

    return db.read(work)
