"""Which publish a part resolves to, and where its layers live: the rules, written once.

- A part resolves to its pinned publish while that publish is still published, otherwise
  to its latest: its last completed publish, in database order, that is still published.
  A part with neither resolves to nothing (its part layer is empty).
- A part's layers live at the paths recorded on its newest completion (the highest
  completion number, whatever that publish's status is now), so a template change moves
  them with the next publish. A part that never completed a publish has no layers.

Each rule is an SQL expression correlated to a part id column and costs one index seek,
however many versions the part has. The asset layers (pm_db.usd.state), `pm part` and
REST (services.parts) and the asset browser (services.browse) all build on them, so they
cannot disagree; `pm doctor` checks the layers through a reading of its own.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from pm_db.models import PartPin, Publish, is_latest

PartId = ColumnElement[Any] | QueryableAttribute[Any]
"""A part id column of the query the expression joins (`Part.id`, `parts.c.id`)."""

_PUBLISHES = cast(Table, Publish.__table__)
_PINS = cast(Table, PartPin.__table__)


def pinned_id(part_id: PartId) -> ColumnElement[Any]:
    """The id of the part's pinned publish while it is still published, else NULL."""
    pinned = _PUBLISHES.alias("pinned")
    return (
        select(_PINS.c.publish_id)
        .join(pinned, pinned.c.id == _PINS.c.publish_id)
        .where(_PINS.c.part_id == part_id, pinned.c.status == "published")
        .scalar_subquery()
    )


def latest_id(part_id: PartId) -> ColumnElement[Any]:
    """The id of the part's latest publish, else NULL."""
    latest = _PUBLISHES.alias("latest")
    return (
        select(latest.c.id).where(latest.c.part_id == part_id, is_latest(latest)).scalar_subquery()
    )


def resolved_id(part_id: PartId) -> ColumnElement[Any]:
    """The id of the publish the part resolves to (its published pin, else its latest),
    else NULL."""
    return func.coalesce(pinned_id(part_id), latest_id(part_id))


def newest_completion_id(part_id: PartId) -> ColumnElement[Any]:
    """The id of the part's newest completed publish (its layers' paths), else NULL."""
    newest = _PUBLISHES.alias("newest_completion")
    return (
        select(newest.c.id)
        .where(newest.c.part_id == part_id, newest.c.published_seq.is_not(None))
        .order_by(newest.c.published_seq.desc())
        .limit(1)
        .scalar_subquery()
    )
