"""The web view's pages: the show tree down to a part's versions, one publish or save,
search with filters, the activity log, an artist's and a task's page, sign-in and
sign-out. Read-only: the only writes are a session's two events (pm_db.web.sessions).

Every page needs a session (else it sends the browser to the sign-in form); every value
is escaped by the templates (Jinja2 autoescape); every list is a page, newest first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from pm_db.api.state import database
from pm_db.errors import NotFound, Unauthenticated, ValidationError
from pm_db.services import browse, events, parts
from pm_db.services.events import EventFilter, EventRow
from pm_db.views import BrowseNode
from pm_db.web import queries
from pm_db.web.sessions import (
    SESSION_LIFETIME,
    WebSession,
    check_session,
    sign_in,
    sign_out,
)

HERE = Path(__file__).resolve().parent
COOKIE = "pm_session"
PAGE = queries.PAGE
# How often the activity page asks for newer events.
POLL_SECONDS = 2
MAX_FORM_BYTES = 4096

templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


def when(moment: datetime | None) -> str:
    """A time as the pages show it: UTC, to the second."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def node_url(key: str) -> str:
    """The page of a tree node."""
    return "/browse/" + quote(key, safe=":")


templates.env.filters["when"] = when
templates.env.globals["node_url"] = node_url
templates.env.globals["poll_seconds"] = POLL_SECONDS


class SignInNeeded(Unauthenticated):
    """A page asked for without a live session: the browser goes to the sign-in form."""


def render(request: Request, name: str, context: Mapping[str, Any], status: int = 200) -> Response:
    """A page from its template, with who is signed in."""
    data = {"me": getattr(request.state, "web_session", None), **context}
    return templates.TemplateResponse(request, name, data, status_code=status)


async def signed_in(request: Request) -> WebSession:
    """The session of a page request (FastAPI dependency). Raises SignInNeeded."""
    cookie = request.cookies.get(COOKIE, "")
    if not cookie:
        raise SignInNeeded("sign in with your pm token to see the show", field="session")
    try:
        current = await run_in_threadpool(check_session, database(request), cookie)
    except Unauthenticated as exc:
        raise SignInNeeded(exc.message, field="session") from None
    request.state.web_session = current
    return current


Me = Annotated[WebSession, Depends(signed_in)]


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    if len(value) > 200:
        raise ValidationError("must be at most 200 characters", field=name)
    return value or None


def _number(request: Request, name: str) -> int | None:
    value = _text(request, name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ValidationError(f"must be a whole number, got {value!r}", field=name)
    return int(value)


def _since_until(request: Request) -> tuple[datetime | None, datetime | None]:
    since, until = _text(request, "since"), _text(request, "until")
    return (
        events.parse_moment(since, "since") if since else None,
        events.parse_moment(until, "until", end_of_day=True) if until else None,
    )


def _query(request: Request, **changes: Any) -> str:
    """The current query string with `changes` (None removes a parameter)."""
    params = {**dict(request.query_params), **changes}
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


# Sign-in ----------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    # Only a path of this site: never a redirect to another host (browsers read `/\`
    # as `//`, the start of another host).
    if target and target.startswith("/") and target[1:2] not in ("/", "\\"):
        return target
    return "/"


@router.get("/login")
def login_form(request: Request) -> Response:
    return render(request, "login.html", {"next": _safe_next(request.query_params.get("next"))})


async def _form(request: Request) -> dict[str, str]:
    """The fields of a small urlencoded form (the sign-in form: a token and a path)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ValidationError(f"is larger than {MAX_FORM_BYTES} bytes", field="form")
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise ValidationError("is not a form", field="form") from None
    return {name: values[0] for name, values in fields.items()}


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await _form(request)
    token, target = fields.get("token", ""), _safe_next(fields.get("next"))
    if not token.strip():
        return render(request, "login.html", {"next": target, "error": "Paste your pm token."}, 401)
    host = request.client.host if request.client else None
    try:
        _, cookie = await run_in_threadpool(sign_in, database(request), token, host)
    except Unauthenticated as exc:
        context = {"next": target, "error": f"Not signed in: {exc.message}."}
        return render(request, "login.html", context, 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, me: Me) -> Response:
    sign_out(database(request), me)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


# The tree ---------------------------------------------------------------------------


@router.get("/")
def home(request: Request, me: Me) -> Response:
    db = database(request)
    projects = browse.roots(db)
    recent = queries.publishes(db, queries.PublishFilter(limit=10))
    return render(request, "home.html", {"projects": projects, "recent": recent})


@router.get("/browse/{key:path}")
def node(request: Request, key: str, me: Me) -> Response:
    db = database(request)
    crumbs = queries.trail(db, key)
    kind = crumbs[-1].kind
    if kind == "part":
        return _part_page(request, db, crumbs)
    children = browse.children(db, [crumbs[-1].key])
    context: dict[str, Any] = {"crumbs": crumbs, "kind": kind, "children": children}
    if kind == "usd_asset":
        context["missing"] = _missing_files(db, children)
    return render(request, "node.html", context)


def _missing_files(db: Any, part_nodes: list[BrowseNode]) -> set[int]:
    """The parts whose publish in use is published but has no data file on this machine
    (a failed or pending one never wrote it)."""
    in_use = {n.publish_id for n in part_nodes if n.publish_id and n.status == "published"}
    found = queries.publishes_by_id(db, in_use)
    return {
        n.publish_id
        for n in part_nodes
        if n.publish_id in found
        and found[n.publish_id].data_path
        and not os.path.isfile(str(found[n.publish_id].data_path))
    }


def _part_page(request: Request, db: Any, crumbs: list[queries.Crumb]) -> Response:
    """A part and one page of its versions: the newest, or those older than the publish
    `before` or newer than the publish `after` (keyset pages)."""
    part_id = int(crumbs[-1].key.split(":")[1])
    before, after = _number(request, "before"), _number(request, "after")
    if before is not None and after is not None:
        raise ValidationError("give before or after, not both", field="after")
    state = parts.get_part(db, part_id)
    rows = browse.versions(db, part_id, limit=PAGE, before=before, after=after)
    # The first page also holds the latest and pinned versions, older than the page.
    page = [row for row in rows[:PAGE] if row.publish_id is not None]
    newer, older = (
        queries.neighbours(db, part_id, _version_of(page[0]), _version_of(page[-1]))
        if page
        else (False, False)
    )
    missing = {
        row.publish_id
        for row in rows
        if row.status == "published" and row.path and not os.path.isfile(row.path)
    }
    context = {
        "crumbs": crumbs,
        "part": state,
        "versions": rows,
        "missing": missing,
        "older": _query(request, before=page[-1].publish_id, after=None) if older else None,
        "newer": _query(request, after=page[0].publish_id, before=None) if newer else None,
    }
    return render(request, "part.html", context)


def _version_of(row: BrowseNode) -> tuple[int, int]:
    """(version, iteration) of a publish row: its source scene's, which are its own."""
    return int(row.scene_version or 0), int(row.scene_iteration or 0)


@router.get("/publish/{publish_id}")
def publish_page(request: Request, publish_id: str, me: Me) -> Response:
    db = database(request)
    found = queries.publish(db, _ident(publish_id, "publish"))
    exists = bool(found.data_path) and os.path.isfile(str(found.data_path))
    crumbs = queries.trail(db, f"part:{found.part_id}")
    return render(
        request, "publish.html", {"publish": found, "crumbs": crumbs, "file_exists": exists}
    )


@router.get("/scene/{scene_id}")
def scene_page(request: Request, scene_id: str, me: Me) -> Response:
    db = database(request)
    saved = queries.scene(db, _ident(scene_id, "scene"))
    made = queries.scene_publishes(db, saved.id)
    return render(request, "scene.html", {"scene": saved, "publishes": made})


def _ident(value: str, field: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound(f"no {field} {value!r}: an id is a whole number", field=field)
    return int(value)


# Search -----------------------------------------------------------------------------


@router.get("/search")
def search(request: Request, me: Me) -> Response:
    db = database(request)
    text = _text(request, "q")
    since, until = _since_until(request)
    wanted = queries.PublishFilter(
        project=_text(request, "project"),
        artist=_text(request, "artist"),
        status=_text(request, "status"),
        since=since,
        until=until,
        before=_number(request, "before"),
    )
    matches = _name_matches(db, text, wanted.project) if text else []
    if text:
        wanted = replace(wanted, part_ids=_part_ids(db, matches))
    found = queries.publishes(db, wanted) if wanted.part_ids != () else []
    context = {
        "q": text or "",
        "filters": wanted,
        "raw": dict(request.query_params),
        "projects": queries.project_codes(db),
        "statuses": queries.STATUSES,
        "matches": matches,
        "publishes": found,
        "older": _older(request, found, wanted.limit),
    }
    return render(request, "search.html", context)


def _part_ids(db: Any, matches: list[list[queries.Crumb]]) -> tuple[int, ...]:
    """The parts a name search found: each matching part, and the parts of each matching
    USD asset."""
    found = {int(t[-1].key.split(":")[1]) for t in matches if t[-1].kind == "part"}
    found |= queries.parts_of(db, [t[-1].key for t in matches if t[-1].kind == "usd_asset"])
    return tuple(sorted(found))


def _name_matches(db: Any, text: str, project: str | None) -> list[list[queries.Crumb]]:
    """The trails of the shots, assets, USD assets and parts whose name holds `text`."""
    trails = queries.trails(db, browse.search(db, text, limit=PAGE)[:PAGE])
    if project:
        trails = [t for t in trails if t[0].name.lower() == project.lower()]
    return trails


def _older(request: Request, rows: list[Any], limit: int) -> str | None:
    if len(rows) < limit or not rows:
        return None
    return _query(request, before=rows[-1].id)


# Activity ---------------------------------------------------------------------------


def _event_filter(request: Request, **changes: Any) -> EventFilter:
    since, until = _since_until(request)
    values: dict[str, Any] = {
        "kind": _text(request, "kind"),
        "artist": _text(request, "artist"),
        "project": _text(request, "project"),
        "entity_type": _text(request, "subject"),
        "entity_id": _number(request, "subject_id"),
        "since": since,
        "until": until,
        "before": _number(request, "before"),
        "limit": PAGE,
    }
    return EventFilter(**{**values, **changes})


@router.get("/activity")
def activity(request: Request, me: Me) -> Response:
    db = database(request)
    wanted = _event_filter(request)
    found = events.read_events(db, wanted)
    context = {
        "events": _linked(db, found),
        "raw": dict(request.query_params),
        "projects": queries.project_codes(db),
        "newest": found[0].id if found else _newest_id(db),
        "live": wanted.before is None,
        "poll": _query(request, before=None),
        "older": _older(request, found, wanted.limit),
    }
    return render(request, "activity.html", context)


@router.get("/activity/newer")
def activity_newer(request: Request, me: Me) -> Response:
    """The events newer than `after`: the activity page's poll (an htmx fragment)."""
    db = database(request)
    after = _number(request, "after") or 0
    found = events.read_events(db, _event_filter(request, after=after, before=None))
    context = {
        "events": _linked(db, found),
        "newest": found[0].id if found else after,
        "poll": _query(request, after=None),
    }
    return render(request, "_newer.html", context)


def _newest_id(db: Any) -> int:
    last = events.read_events(db, EventFilter(limit=1))
    return last[0].id if last else 0


SUBJECT_PAGES = {
    "publish": "/publish/{id}",
    "scene": "/scene/{id}",
    "task": "/task/{id}",
    "part": "/browse/part:{id}",
    "project": "/browse/project:{id}",
    "sequence": "/browse/sequence:{id}",
    "shot": "/browse/shot:{id}",
    "asset": "/browse/asset:{id}",
}


def _linked(db: Any, found: list[EventRow]) -> list[tuple[EventRow, str | None]]:
    """Each event with the page of what it is about (None when it has no page)."""
    artists = queries.logins(
        db, {e.entity_id for e in found if e.entity_type == "artist" and e.entity_id}
    )
    linked: list[tuple[EventRow, str | None]] = []
    for event in found:
        page = SUBJECT_PAGES.get(event.entity_type)
        if event.entity_id is None:
            link = None
        elif page:
            link = page.format(id=event.entity_id)
        elif event.entity_type == "artist" and event.entity_id in artists:
            link = f"/artist/{quote(artists[event.entity_id])}"
        else:
            link = None
        linked.append((event, link))
    return linked


# Artists and tasks ------------------------------------------------------------------


@router.get("/artist/{login}")
def artist_page(request: Request, login: str, me: Me) -> Response:
    db = database(request)
    person = queries.artist(db, login)
    context = {
        "artist": person,
        "tasks": queries.artist_tasks(db, person.login),
        "scenes": queries.scenes(db, artist_login=person.login, limit=20),
        "publishes": queries.publishes(db, queries.PublishFilter(artist=person.login, limit=20)),
    }
    return render(request, "artist.html", context)


@router.get("/task/{task_id}")
def task_page(request: Request, task_id: str, me: Me) -> Response:
    db = database(request)
    task = browse.task_row(db, _ident(task_id, "task"))
    found = queries.publishes(
        db, queries.PublishFilter(task_id=task.id, before=_number(request, "before"))
    )
    context = {
        "task": task,
        "scenes": queries.scenes(db, task_id=task.id, limit=20),
        "publishes": found,
        "older": _older(request, found, PAGE),
    }
    return render(request, "task.html", context)
