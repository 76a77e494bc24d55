"""`/api/events/`: the event log (who saved, published, pinned, withdrew what), newest
first, filtered and paged by event id, for scripts and the web view alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from pm_db.api.auth import caller
from pm_db.api.entities import MAX_ID
from pm_db.api.envelope import ERROR_RESPONSES, Envelope, ok
from pm_db.api.state import database
from pm_db.services import events
from pm_db.services.events import EventFilter, EventRow
from pm_db.services.tokens import Caller

router = APIRouter(tags=["events"], responses=ERROR_RESPONSES)

Id = Annotated[int | None, Query(ge=0, le=MAX_ID)]
Text = Annotated[str | None, Query(max_length=64)]


@router.get(
    "/api/events/",
    response_model=Envelope[list[EventRow]],
    summary="Events, newest first; page with `before` (or poll with `after`)",
    operation_id="list_events",
)
def list_events(
    request: Request,
    who: Annotated[Caller, Depends(caller)],
    kind: Annotated[
        str | None, Query(max_length=64, description="a kind, or a family ending in `.`")
    ] = None,
    artist: Text = None,
    project: Annotated[
        str | None, Query(max_length=64, description="a project code: events about its records")
    ] = None,
    entity_type: Text = None,
    entity_id: Id = None,
    since: Annotated[
        str | None, Query(max_length=40, description="a date or ISO time, included")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=40, description="a date (the whole day) or ISO time")
    ] = None,
    before: Annotated[int | None, Query(ge=0, le=MAX_ID, description="older than this id")] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="newer than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIMIT)] = 100,
) -> Response:
    wanted = EventFilter(
        kind=kind or None,
        artist=artist or None,
        project=project or None,
        entity_type=entity_type or None,
        entity_id=entity_id,
        since=events.parse_moment(since, "since") if since else None,
        until=events.parse_moment(until, "until", end_of_day=True) if until else None,
        before=before,
        after=after,
        limit=limit,
    )
    return ok(events.read_events(database(request), wanted))
