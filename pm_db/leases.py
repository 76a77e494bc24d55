"""Leases: a task's scene streams checked out to one machine (pm_db.offline).

The rule, written once here and called where a save or a publish locks what it changes
(pm_db.versions: a scene stream's counter, a part): while a lease holds a stream, the
studio database refuses every save into it and every publish reserved, completed or
deprecated on its parts, naming the artist, the machine and the time of the checkout.
The check is one seek on the partial unique index of held lease streams.

A supervisor breaks a lease (`break_lease`): the streams are free again at once, and the
laptop's check-in is then refused (docs/offline.md says the ways out).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.models import (
    Artist,
    Lease,
    LeaseStream,
    Part,
    PartPin,
    Publish,
    Scene,
    SceneStream,
    is_held,
    is_latest,
    utcnow,
)
from pm_db.services import events

LEASES = cast(Table, Lease.__table__)
LEASE_STREAMS = cast(Table, LeaseStream.__table__)
_ARTISTS = cast(Table, Artist.__table__)
_PARTS = cast(Table, Part.__table__)
_STREAMS = cast(Table, SceneStream.__table__)

_HOLDER = (
    select(
        LEASES.c.lease_id,
        _ARTISTS.c.login,
        LEASES.c.host,
        LEASES.c.created_at,
        _STREAMS.c.folder,
    )
    .select_from(LEASE_STREAMS)
    .join(LEASES, LEASES.c.id == LEASE_STREAMS.c.lease_id)
    .join(_ARTISTS, _ARTISTS.c.id == LEASES.c.artist_id)
    .join(_STREAMS, _STREAMS.c.id == LEASE_STREAMS.c.stream_id)
    .where(is_held(LEASE_STREAMS))
)
_HOLDER_OF_STREAM = _HOLDER.where(LEASE_STREAMS.c.stream_id == bindparam("b_stream_id"))
_HOLDER_OF_PART = _HOLDER.join(_PARTS, _PARTS.c.stream_id == LEASE_STREAMS.c.stream_id).where(
    _PARTS.c.id == bindparam("b_part_id")
)
# What every save and publish asks: one seek, no join to plan (on PostgreSQL a statement
# is planned each time it is sent). Who holds the lease is read only for a refusal.
_HELD_STREAM = select(LEASE_STREAMS.c.id).where(
    LEASE_STREAMS.c.stream_id == bindparam("b_stream_id"), is_held(LEASE_STREAMS)
)
_HELD_PART = (
    select(LEASE_STREAMS.c.id)
    .join(_PARTS, _PARTS.c.stream_id == LEASE_STREAMS.c.stream_id)
    .where(_PARTS.c.id == bindparam("b_part_id"), is_held(LEASE_STREAMS))
)


def refuse_if_held(session: Session, stream_id: int) -> None:
    """Raise Conflict (field `lease`) if a lease holds scene stream `stream_id`. Called by
    the caller holding the stream's lock, so a checkout cannot slip in between. It is a
    statement of its own, sent after the lock is held: folded into the locking statement
    (a subquery in its RETURNING), PostgreSQL would read it with the snapshot taken before
    that statement waited for the lock, and miss a lease committed meanwhile."""
    params = {"b_stream_id": stream_id}
    if session.execute(_HELD_STREAM, params).first() is not None:
        _refuse(session.execute(_HOLDER_OF_STREAM, params).first())


def refuse_if_part_held(session: Session, part_id: int) -> None:
    """Raise Conflict (field `lease`) if a lease holds the scene stream of part `part_id`."""
    params = {"b_part_id": part_id}
    if session.execute(_HELD_PART, params).first() is not None:
        _refuse(session.execute(_HOLDER_OF_PART, params).first())


def _refuse(holder: Any) -> None:
    if holder is not None:
        raise Conflict(describe(holder), field="lease")


def holders(session: Session, stream_ids: list[int]) -> list[Any]:
    """The held leases on any of `stream_ids` (lease_id, login, host, created_at, folder)."""
    if not stream_ids:
        return []
    query = _HOLDER.where(LEASE_STREAMS.c.stream_id.in_(stream_ids))
    return list(session.execute(query))


def describe(holder: Any) -> str:
    """Why a stream a lease holds refuses saves and publishes, in words."""
    since = holder.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{holder.folder} is checked out to {holder.login} on {holder.host} since {since} "
        f"(lease {holder.lease_id}); it comes back with their `pm offline checkin`, or a "
        f"supervisor frees it with `pm offline break {holder.lease_id}`"
    )


def stream_state(session: Session, stream_id: int) -> dict[str, Any]:
    """What a scene stream and its parts are now, as plain JSON: its counter, its number
    of saves, and per part its withdrawal, its pin, its latest and its publishes counted by
    status with the highest completion number. Equal states mean nothing was saved,
    published, completed, failed, deprecated, pinned or withdrawn in between."""
    stream = session.get(SceneStream, stream_id)
    if stream is None:
        raise NotFound(f"no scene stream with id {stream_id}", field="stream_id")
    saves = session.scalar(
        select(func.count()).select_from(Scene).where(Scene.stream_id == stream_id)
    )
    parts: dict[str, Any] = {}
    for part in session.scalars(select(Part).where(Part.stream_id == stream_id)):
        counts = dict(
            session.execute(
                select(Publish.status, func.count())
                .where(Publish.part_id == part.id)
                .group_by(Publish.status)
            ).all()
        )
        newest = session.scalar(
            select(func.max(Publish.published_seq)).where(Publish.part_id == part.id)
        )
        latest = session.scalar(
            select(Publish.publish_id).where(
                Publish.part_id == part.id, is_latest(cast(Table, Publish.__table__))
            )
        )
        pinned = session.scalar(
            select(Publish.publish_id)
            .join(PartPin, PartPin.publish_id == Publish.id)
            .where(PartPin.part_id == part.id)
        )
        parts[f"{part.asset_name}/{part.name}".casefold()] = {
            "withdrawn": part.withdrawn,
            "pinned": pinned,
            "latest": latest,
            "statuses": {str(k): int(v) for k, v in sorted(counts.items())},
            "newest_completion": newest,
        }
    return {
        "version": stream.version,
        "iteration": stream.iteration,
        "saves": int(saves or 0),
        "parts": parts,
    }


def find_lease(session: Session, lease_id: str) -> Lease:
    """The lease `lease_id`; raises NotFound."""
    lease = session.scalars(select(Lease).where(Lease.lease_id == lease_id)).first()
    if lease is None:
        raise NotFound(f"no lease {lease_id!r}", field="lease")
    return lease


def free(session: Session, lease: Lease) -> None:
    """Let go of every stream `lease` holds (it was broken or released)."""
    session.execute(
        update(LEASE_STREAMS)
        .where(LEASE_STREAMS.c.lease_id == lease.id, is_held(LEASE_STREAMS))
        .values(held=False)
    )


def break_lease(session: Session, lease_id: str, by: str, reason: str) -> Lease:
    """A supervisor's break of a held lease: its streams take saves and publishes again,
    and its check-in will be refused. Raises NotFound, ValidationError (no reason),
    Conflict (already broken or released)."""
    if not reason.strip():
        raise ValidationError("say why the lease is broken", field="reason")
    lease = find_lease(session, lease_id)
    if lease.broken_at is not None or lease.released_at is not None:
        raise Conflict(f"lease {lease_id} is no longer held", field="lease")
    lease.broken_at = utcnow()
    lease.broken_by = by[:255]
    lease.broken_reason = reason[:4000]
    free(session, lease)
    events.record(
        session,
        "lease.broken",
        "task",
        lease.task_id,
        lease.artist_id,
        {"lease": lease.lease_id, "by": lease.broken_by, "reason": lease.broken_reason},
    )
    return lease
