"""Offline work: a task checked out of the studio database into a laptop's own SQLite file,
worked on there with every tool (PM_OFFLINE), and checked back in. docs/offline.md has the
artist's and the supervisor's walk-through and the rules.

- `checkout`: in one studio transaction, a lease on the task's scene streams (with the
  state of each stream and of its parts) and the records the work needs: the project, the
  task's target, the tasks and artists those records name, the streams with their
  counters, the current scene of each, the parts, and the publishes a new publish builds
  on (latest, newest completion, pinned, and every publish of the copied scenes). The
  checkout database keeps every id, so numbers continue from the studio's and every path
  is the studio's.
- `checkin`: first every check, nothing written: the lease still held, the templates
  unchanged, each stream as it was at checkout (a stream the offline work created not
  made meanwhile in the studio), each file to copy new or identical. Then the files, if the
  laptop had its own copy of the project root (copied beside, checked by size and SHA-256,
  renamed into place). Then one studio transaction per stream: its counter, its saves,
  parts, publishes (their UUIDs, numbers, paths, times) and their events, and the mark
  that the stream is in. Then the stable layers, then the lease is released. A check-in
  cut anywhere and run again skips what is in and brings the rest, exactly once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from pm_db import leases, migrate
from pm_db.config import Settings, checkout_path, sqlite_url
from pm_db.db import Database, missing_sqlite_file, open_database
from pm_db.errors import (
    ConfigError,
    Conflict,
    NotFound,
    PmError,
    Unavailable,
    ValidationError,
)
from pm_db.faults import checkpoint
from pm_db.models import (
    Artist,
    Asset,
    Event,
    Lease,
    LeaseStream,
    Part,
    PartPin,
    Project,
    Publish,
    Scene,
    SceneStream,
    Sequence,
    Shot,
    Task,
    is_latest,
    utcnow,
)
from pm_db.services import events, resolution
from pm_db.services.context import join_root, load_context, platform, project_roots, root_for
from pm_db.services.publishes import PUBLISHES
from pm_db.services.scenes import artist_by_login
from pm_db.usd import files, layers
from pm_db.usd.state import AssetKey
from pm_db.usd.verify import publish_folder

Rows = dict[str, list[dict[str, Any]]]

# Copied in this order, so every foreign key finds its row.
COPIED = (Project, Sequence, Shot, Asset, Artist, Task, SceneStream, Scene, Part, Publish, PartPin)
PUBLISH_FIELDS = ("status", "is_latest", "published_seq", "attempts", "error", "completed_at")


class CheckoutOut(BaseModel):
    """What `pm offline checkout` made."""

    lease_id: str
    task_id: int
    artist: str
    host: str
    database: str
    root: str
    streams: list[str]
    scenes: int
    publishes: int


class CheckinOut(BaseModel):
    """What `pm offline checkin` brought in (nothing, on a run that only closes the
    checkout an earlier run brought in)."""

    lease_id: str
    streams: list[str]
    scenes: int
    publishes: int
    events: int
    files_copied: int
    layers_written: int


class LeaseOut(BaseModel):
    """A lease as `pm offline leases` shows it."""

    lease_id: str
    task_id: int
    artist: str
    host: str
    created_at: str
    state: str
    streams: list[str]


# -- the two databases ------------------------------------------------------------------


def studio_database(settings: Settings) -> Database:
    """The studio database: the one the settings choose without PM_OFFLINE, with the
    studio's own safeguards. Raises ConfigError (only the REST service is configured:
    leases need the database itself; or the default database under a production
    configuration), Unavailable (a SQLite file that does not exist)."""
    studio = settings.studio or settings
    if studio.api_url is not None and studio.db_source == "default":
        raise ConfigError(
            "checking out and in needs the studio database (PM_DB_URL or PM_DB_NAME), "
            "not the REST service",
            field="PM_DB_URL",
        )
    missing = missing_sqlite_file(studio.db_url)
    if missing:
        raise Unavailable(f"no pm database at {missing}", field="PM_DB_URL")
    return open_database(studio)


def checkout_file(settings: Settings, given: str | None = None) -> Path:
    """The checkout's SQLite file: `given`, else PM_OFFLINE's, else the default place."""
    if given:
        return Path(given).expanduser().absolute()
    return settings.offline or checkout_path(settings.home)


def check_out_here(
    settings: Settings,
    task_id: int,
    artist: str | None,
    to: str | None = None,
    root: str | None = None,
) -> CheckoutOut:
    """`checkout` from the studio the settings name into this machine's checkout file
    (`to`, else see `checkout_file`), as the CLI and the launcher do it."""
    studio = studio_database(settings)
    return checkout(studio, checkout_file(settings, to), task_id, artist, events.HOST, root)


# -- checkout ---------------------------------------------------------------------------


def checkout(
    studio: Database,
    target: Path,
    task_id: int,
    artist: str | None,
    host: str,
    root: str | None = None,
) -> CheckoutOut:
    """Check task `task_id` out of `studio` into the SQLite file `target` for `artist` (the
    task's artist by default) on `host`; `root` is the laptop's own copy of the project
    root, if it has one. Raises NotFound, ValidationError, Conflict (a stream is checked
    out already, or `target` holds a checkout not checked in)."""
    _check_target_free(target)
    taken, rows = studio.write(lambda session: _take(session, task_id, artist, host))
    try:
        _write_checkout(target, rows, taken, root)
    except BaseException:
        studio.write(lambda session: _release(session, taken.lease_id, "checkout failed"))
        raise
    return CheckoutOut(
        lease_id=taken.lease_id,
        task_id=task_id,
        artist=taken.login,
        host=host,
        database=str(target),
        root=root or taken.root,
        streams=[stream["folder"] for stream in rows["scene_streams"]],
        scenes=len(rows["scenes"]),
        publishes=len(rows["publishes"]),
    )


@dataclass(frozen=True)
class _Taken:
    lease_id: str
    login: str
    root: str
    lease: dict[str, Any]
    streams: list[dict[str, Any]]


def _take(session: Session, task_id: int, login: str | None, host: str) -> tuple[_Taken, Rows]:
    """The lease on the task's streams, taken under their locks, and the rows to copy."""
    context = load_context(session, task_id)
    task = session.get(Task, task_id)
    assert task is not None
    if login is None and task.artist_id is None:
        raise ValidationError(f"task {task_id} has no artist; name one", field="artist")
    artist = (
        artist_by_login(session, login)
        if login is not None
        else session.get(Artist, task.artist_id)
    )
    assert artist is not None
    stream_ids = sorted(
        session.scalars(select(Scene.stream_id).where(Scene.task_id == task_id).distinct())
    )
    # Locked in id order (two checkouts never wait on each other in a circle): a save or a
    # publish in flight on one of them finishes first and is in the copy, and any that
    # comes after sees the lease.
    streams = list(
        session.scalars(
            select(SceneStream)
            .where(SceneStream.id.in_(stream_ids))
            .order_by(SceneStream.id)
            .with_for_update()
        )
    )
    session.execute(
        select(Part.id).where(Part.stream_id.in_(stream_ids)).order_by(Part.id).with_for_update()
    )
    held = leases.holders(session, stream_ids)
    if held:
        raise Conflict("; ".join(leases.describe(row) for row in held), field="lease")
    lease = Lease(
        lease_id=str(uuid.uuid4()),
        task_id=task_id,
        artist_id=artist.id,
        host=host[:255],
        templates=dict(context.project.templates),
    )
    session.add(lease)
    session.flush()
    for stream in streams:
        session.add(
            LeaseStream(
                lease_id=lease.id,
                stream_key=stream.key,
                stream_id=stream.id,
                held=True,
                state=leases.stream_state(session, stream.id),
            )
        )
    session.flush()
    events.record(
        session,
        "lease.taken",
        "task",
        task_id,
        artist.id,
        {"lease": lease.lease_id, "streams": [s.folder for s in streams]},
        host=lease.host,
    )
    lease_row = _row(session, Lease, Lease.id == lease.id)[0]
    stream_rows = _row(session, LeaseStream, LeaseStream.lease_id == lease.id)
    taken = _Taken(lease.lease_id, artist.login, context.root, lease_row, stream_rows)
    return taken, _copied_rows(session, task, artist.id, stream_ids)


def _row(session: Session, model: Any, *where: Any) -> list[dict[str, Any]]:
    table = cast(Table, model.__table__)
    query = select(table).where(*where).order_by(table.c[_first_key(table)])
    return [dict(row) for row in session.execute(query).mappings()]


def _first_key(table: Table) -> str:
    return next(iter(table.primary_key.columns)).name


def _copied_rows(session: Session, task: Task, artist_id: int, stream_ids: list[int]) -> Rows:
    """Every row the checkout database needs, by table, in foreign-key order."""
    part_ids = list(session.scalars(select(Part.id).where(Part.stream_id.in_(stream_ids))))
    key_publishes = set(
        session.scalars(
            select(Publish.id).where(Publish.part_id.in_(part_ids), is_latest(PUBLISHES))
        )
    )
    newest = select(resolution.newest_completion_id(Part.id)).where(Part.id.in_(part_ids))
    key_publishes |= {ident for ident in session.scalars(newest) if ident is not None}
    key_publishes |= set(
        session.scalars(select(PartPin.publish_id).where(PartPin.part_id.in_(part_ids)))
    )
    scene_ids = set(session.scalars(select(Publish.scene_id).where(Publish.id.in_(key_publishes))))
    for stream_id in stream_ids:
        current = session.scalar(
            select(Scene.id)
            .where(Scene.stream_id == stream_id)
            .order_by(Scene.version.desc(), Scene.iteration.desc())
            .limit(1)
        )
        if current is not None:
            scene_ids.add(current)
    publish_ids = key_publishes | set(
        session.scalars(select(Publish.id).where(Publish.scene_id.in_(scene_ids)))
    )
    scenes = _row(session, Scene, Scene.id.in_(scene_ids))
    publishes = _row(session, Publish, Publish.id.in_(publish_ids))
    pins = _row(session, PartPin, PartPin.part_id.in_(part_ids))
    task_ids = {task.id} | {s["task_id"] for s in scenes} | {p["task_id"] for p in publishes}
    tasks = _row(session, Task, Task.id.in_(task_ids))
    artist_ids = {artist_id} | {t["artist_id"] for t in tasks if t["artist_id"]}
    artist_ids |= {s["artist_id"] for s in scenes} | {p["created_by"] for p in publishes}
    artist_ids |= {p["pinned_by"] for p in pins if p["pinned_by"]}
    shot_ids = {t["shot_id"] for t in tasks if t["shot_id"]}
    shots = _row(session, Shot, Shot.id.in_(shot_ids))
    return {
        "projects": _row(session, Project, Project.id == task.project_id),
        "sequences": _row(session, Sequence, Sequence.id.in_({s["sequence_id"] for s in shots})),
        "shots": shots,
        "assets": _row(session, Asset, Asset.id.in_({t["asset_id"] for t in tasks})),
        "artists": _row(session, Artist, Artist.id.in_(artist_ids)),
        "tasks": tasks,
        "scene_streams": _row(session, SceneStream, SceneStream.id.in_(stream_ids)),
        "scenes": scenes,
        "parts": _row(session, Part, Part.id.in_(part_ids)),
        "publishes": publishes,
        "part_pins": pins,
    }


def _check_target_free(target: Path) -> None:
    """Raise Conflict if `target` holds a checkout that was not checked in."""
    if not target.exists():
        return
    local = Database(sqlite_url(target))
    try:
        lease = local.read(_open_lease)
    except PmError as exc:
        raise Conflict(
            f"{target} exists and is not a checkout database ({exc.message}); "
            "move it away or choose another file",
            field="to",
        ) from exc
    finally:
        local.dispose()
    if lease is not None:
        raise Conflict(
            f"{target} holds the checkout {lease.lease_id} of task {lease.task_id}, not "
            "checked in; check it in (or discard it) first, or choose another file",
            field="to",
        )


def _open_lease(session: Session) -> Lease | None:
    return session.scalars(select(Lease).where(Lease.released_at.is_(None))).first()


def _write_checkout(target: Path, rows: Rows, taken: _Taken, root: str | None) -> None:
    """A new checkout database at `target` holding `rows` and the lease (its streams not
    held there: the laptop is where they are worked on)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    local = Database(sqlite_url(target))
    try:
        migrate.upgrade(local)
        if root is not None:
            project = rows["projects"][0]
            rows["projects"] = [{**project, f"root_{platform()}": root}]
        lease_streams = [{**stream, "held": False} for stream in taken.streams]

        def work(session: Session) -> None:
            for model in COPIED:
                table = cast(Table, model.__table__)
                if rows[table.name]:
                    session.execute(insert(table), rows[table.name])
            session.execute(insert(leases.LEASES), [taken.lease])
            if lease_streams:
                session.execute(insert(leases.LEASE_STREAMS), lease_streams)

        local.write(work)
    finally:
        local.dispose()


# -- break, release, list ---------------------------------------------------------------


def break_lease(studio: Database, lease_id: str, by: str, reason: str) -> LeaseOut:
    """A supervisor breaks a lease (see pm_db.leases.break_lease). Raises NotFound,
    ValidationError, Conflict."""

    def work(session: Session) -> LeaseOut:
        return _lease_out(session, leases.break_lease(session, lease_id, by, reason))

    return studio.write(work)


def list_leases(studio: Database, held_only: bool = True) -> list[LeaseOut]:
    """The leases of the studio database, newest first (only the held ones by default)."""

    def work(session: Session) -> list[LeaseOut]:
        query = select(Lease).order_by(Lease.id.desc())
        if held_only:
            query = query.where(Lease.broken_at.is_(None), Lease.released_at.is_(None))
        return [_lease_out(session, lease) for lease in session.scalars(query)]

    return studio.read(work)


def _lease_out(session: Session, lease: Lease) -> LeaseOut:
    login = session.scalar(select(Artist.login).where(Artist.id == lease.artist_id)) or ""
    folders = session.scalars(
        select(SceneStream.folder)
        .join(LeaseStream, LeaseStream.stream_id == SceneStream.id)
        .where(LeaseStream.lease_id == lease.id)
        .order_by(SceneStream.folder)
    )
    return LeaseOut(
        lease_id=lease.lease_id,
        task_id=lease.task_id,
        artist=login,
        host=lease.host,
        created_at=lease.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        state=_lease_state(lease),
        streams=list(folders),
    )


def _lease_state(lease: Lease) -> str:
    if lease.broken_at is not None:
        return f"broken by {lease.broken_by} at {lease.broken_at:%Y-%m-%d %H:%M UTC}"
    if lease.released_at is not None:
        return f"checked in at {lease.released_at:%Y-%m-%d %H:%M UTC}"
    return "held"


def _release(session: Session, lease_id: str, why: str) -> None:
    """Release a lease in `session`'s database (no-op if released already)."""
    lease = leases.find_lease(session, lease_id)
    if lease.released_at is not None:
        return
    lease.released_at = utcnow()
    leases.free(session, lease)
    events.record(
        session,
        "lease.released",
        "task",
        lease.task_id,
        lease.artist_id,
        {"lease": lease_id, "why": why},
    )


def discard(local: Database, studio: Database | None) -> str:
    """Give up a checkout's offline records: its lease is released in the studio (if
    `studio` is given and it is still held) and in the checkout database, which then
    accepts a new checkout. Files stay where they are. Returns the lease id. Raises
    NotFound (no open checkout)."""
    lease = local.read(_open_lease)
    if lease is None:
        raise NotFound("this database holds no open checkout", field="PM_OFFLINE")
    lease_id = lease.lease_id
    if studio is not None:

        def release_held(session: Session) -> None:
            found = leases.find_lease(session, lease_id)
            if found.broken_at is None:
                _release(session, lease_id, "offline work discarded")

        studio.write(release_held)
    local.write(lambda session: _release(session, lease_id, "offline work discarded"))
    return lease_id


# -- checkin ----------------------------------------------------------------------------


@dataclass
class _Stream:
    """One stream's offline work, read from the checkout database."""

    key: str
    folder: str
    version: int
    iteration: int
    state: dict[str, Any] | None
    scenes: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    publishes: list[dict[str, Any]] = field(default_factory=list)
    pins: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    scene_numbers: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass
class _Work:
    lease_id: str
    project_id: int
    templates: dict[str, Any]
    local_templates: dict[str, Any]
    local_roots: dict[str, Any]
    streams: list[_Stream]


def checkin(studio: Database, local: Database) -> CheckinOut:
    """Bring a checkout's offline work into `studio` (see the module's words). Raises
    NotFound (no open checkout), Conflict naming every conflict (nothing written),
    PmError from copying a file or writing a layer (run again once fixed)."""
    lease = local.read(_open_lease)
    if lease is None:
        raise NotFound("this database holds no open checkout", field="PM_OFFLINE")
    work = local.read(lambda session: _offline_work(session, lease.lease_id))
    report = CheckinOut(
        lease_id=work.lease_id,
        streams=[],
        scenes=0,
        publishes=0,
        events=0,
        files_copied=0,
        layers_written=0,
    )
    if studio.read(lambda session: _released(session, work.lease_id)):
        local.write(lambda session: _release(session, work.lease_id, "checked in"))
        return report
    root = studio.read(lambda session: root_for(_project(session, work.project_id)))
    copies = _files_to_copy(work, root)
    conflicts = studio.read(lambda session: _conflicts(session, work))
    conflicts += [
        f"{target} exists with other content"
        for source, target in copies
        if _differs(source, target)
    ]
    if conflicts:
        raise Conflict(
            "check-in refused, nothing was written: "
            + "; ".join(conflicts)
            + " (docs/offline.md, 'When a check-in is refused')",
            field="lease",
        )
    report.files_copied = sum(_copy_verified(source, target) for source, target in copies)
    checkpoint("checkin-copy")
    for stream in work.streams:
        brought = studio.write(partial(_bring, work=work, stream=stream))
        checkpoint("checkin-stream")
        if brought is not None:
            report.streams.append(stream.folder)
            report.scenes, report.publishes, report.events = (
                report.scenes + brought[0],
                report.publishes + brought[1],
                report.events + brought[2],
            )
    for key in studio.read(lambda session: _asset_keys(session, work)):
        result = layers.sync_asset(studio, key)
        report.layers_written += len(result.written) if result else 0
    checkpoint("checkin-layers")
    studio.write(lambda session: _release(session, work.lease_id, "checked in"))
    local.write(lambda session: _release(session, work.lease_id, "checked in"))
    return report


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project with id {project_id}", field="project")
    return project


def _offline_work(session: Session, lease_id: str) -> _Work:
    """Every stream of the checkout database with what the offline work did in it."""
    lease = leases.find_lease(session, lease_id)
    task = session.get(Task, lease.task_id)
    assert task is not None
    project = _project(session, task.project_id)
    marks = {
        mark.stream_key: mark
        for mark in session.scalars(select(LeaseStream).where(LeaseStream.lease_id == lease.id))
    }
    streams = []
    query = select(SceneStream).where(SceneStream.project_id == project.id)
    for row in session.scalars(query.order_by(SceneStream.id)):
        mark = marks.get(row.key)
        stream = _Stream(
            key=row.key,
            folder=row.folder,
            version=row.version,
            iteration=row.iteration,
            state=mark.state if mark else None,
        )
        floor = (stream.state["version"], stream.state["iteration"]) if stream.state else (0, 0)
        saved = _row(session, Scene, Scene.stream_id == row.id)
        stream.scene_numbers = {s["id"]: (s["version"], s["iteration"]) for s in saved}
        stream.scenes = [s for s in saved if (s["version"], s["iteration"]) > floor]
        stream.parts = _row(session, Part, Part.stream_id == row.id)
        part_ids = [p["id"] for p in stream.parts]
        stream.publishes = _row(session, Publish, Publish.part_id.in_(part_ids))
        stream.pins = _row(session, PartPin, PartPin.part_id.in_(part_ids))
        stream.events = _row(
            session,
            Event,
            ((Event.entity_type == "scene") & Event.entity_id.in_(stream.scene_numbers))
            | (
                (Event.entity_type == "publish")
                & Event.entity_id.in_([p["id"] for p in stream.publishes])
            )
            | ((Event.entity_type == "part") & Event.entity_id.in_(part_ids)),
        )
        streams.append(stream)
    return _Work(
        lease_id=lease.lease_id,
        project_id=project.id,
        templates=dict(lease.templates),
        local_templates=dict(project.templates),
        local_roots=project_roots(project),
        streams=streams,
    )


def _released(session: Session, lease_id: str) -> bool:
    """Whether the studio released the lease: an earlier check-in finished there."""
    return leases.find_lease(session, lease_id).released_at is not None


def _conflicts(session: Session, work: _Work) -> list[str]:
    """Why the offline work cannot come in as it is, each in words (none: it can)."""
    lease = leases.find_lease(session, work.lease_id)
    if lease.broken_at is not None:
        return [
            f"lease {lease.lease_id} was {_lease_state(lease)} ({lease.broken_reason}); the studio "
            "may have saved and published on its streams since"
        ]
    found = []
    project = _project(session, work.project_id)
    if project.templates != work.templates:
        found.append(f"project {project.code}'s templates changed in the studio since checkout")
    if work.local_templates != work.templates:
        found.append(f"project {project.code}'s templates changed in the checkout")
    marks = {
        mark.stream_key: mark
        for mark in session.scalars(select(LeaseStream).where(LeaseStream.lease_id == lease.id))
    }
    for stream in work.streams:
        mark = marks.get(stream.key)
        if mark is not None and mark.checked_in_at is not None:
            continue
        problem = _stream_conflict(session, work.project_id, stream, mark)
        if problem:
            found.append(problem)
    return found


def _stream_conflict(
    session: Session, project_id: int, stream: _Stream, mark: LeaseStream | None
) -> str | None:
    """Why one stream's offline work cannot come in, or None."""
    studio_id = session.scalar(
        select(SceneStream.id).where(
            SceneStream.project_id == project_id, SceneStream.key == stream.key
        )
    )
    if mark is None:
        if studio_id is None:
            return None
        return f"{stream.folder} was first saved in the studio while it was checked out"
    if studio_id is None or leases.stream_state(session, studio_id) != mark.state:
        return f"{stream.folder} changed in the studio since the checkout"
    return None


def _bring(session: Session, work: _Work, stream: _Stream) -> tuple[int, int, int] | None:
    """One stream's offline records into the studio, in the caller's transaction, with the
    mark that it is in: (scenes, publishes, events) brought, or None if it was already."""
    lease = session.scalars(
        select(Lease).where(Lease.lease_id == work.lease_id).with_for_update()
    ).one()
    mark = session.scalars(
        select(LeaseStream).where(
            LeaseStream.lease_id == lease.id, LeaseStream.stream_key == stream.key
        )
    ).first()
    if mark is not None and mark.checked_in_at is not None:
        return None
    # Checked again under the locks: a break or a studio write may have come meanwhile.
    locked = session.scalars(
        select(SceneStream)
        .where(SceneStream.project_id == work.project_id, SceneStream.key == stream.key)
        .with_for_update()
    ).first()
    problem = _stream_conflict(session, work.project_id, stream, mark)
    if lease.broken_at is not None or problem:
        raise Conflict(
            f"check-in stopped before {stream.folder}: "
            + (problem or f"lease {lease.lease_id} was broken meanwhile"),
            field="lease",
        )
    if locked is None:
        locked = SceneStream(
            project_id=work.project_id,
            key=stream.key,
            folder=stream.folder,
            version=stream.version,
            iteration=stream.iteration,
        )
        session.add(locked)
    locked.version, locked.iteration = stream.version, stream.iteration
    session.flush()
    scene_ids = _bring_scenes(session, locked.id, stream)
    part_ids = _bring_parts(session, locked.id, stream)
    publish_ids, inserted = _bring_publishes(session, stream, scene_ids, part_ids)
    _bring_pins(session, stream, part_ids, publish_ids)
    ids = {"scene": scene_ids, "publish": publish_ids, "part": part_ids}
    brought_events = [
        {
            **_without_id(event),
            "entity_id": ids[event["entity_type"]][event["entity_id"]],
            "payload": _studio_payload(event["payload"], publish_ids),
        }
        for event in stream.events
        if event["entity_id"] in ids[event["entity_type"]]
    ]
    if brought_events:
        session.execute(events.INSERT, brought_events)
    if mark is None:
        mark = LeaseStream(lease_id=lease.id, stream_key=stream.key, held=False)
        session.add(mark)
    mark.stream_id, mark.checked_in_at = locked.id, utcnow()
    return len(stream.scenes), inserted, len(brought_events)


def _studio_payload(payload: dict[str, Any], publish_ids: dict[int, int]) -> dict[str, Any]:
    """An event's payload with the publish it names (a pin's) by its studio id."""
    named = payload.get("publish_id")
    if isinstance(named, int) and named in publish_ids:
        return {**payload, "publish_id": publish_ids[named]}
    return payload


def _without_id(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "id"}


def _bring_scenes(session: Session, stream_id: int, stream: _Stream) -> dict[int, int]:
    """The offline saves inserted; returns local scene id -> studio scene id for every
    scene of the stream the checkout holds."""
    if stream.scenes:
        rows = [{**_without_id(scene), "stream_id": stream_id} for scene in stream.scenes]
        session.execute(insert(cast(Table, Scene.__table__)), rows)
    numbered = select(Scene.id, Scene.version, Scene.iteration).where(Scene.stream_id == stream_id)
    studio_ids = {
        (version, iteration): ident for ident, version, iteration in session.execute(numbered)
    }
    return {
        local_id: studio_ids[numbers]
        for local_id, numbers in stream.scene_numbers.items()
        if numbers in studio_ids
    }


def _bring_parts(session: Session, stream_id: int, stream: _Stream) -> dict[int, int]:
    """Parts first published offline inserted, withdrawals carried; returns local part id
    -> studio part id."""
    found: dict[int, int] = {}
    for part in stream.parts:
        row = session.scalars(
            select(Part).where(
                Part.stream_id == stream_id,
                func.lower(Part.asset_name) == part["asset_name"].lower(),
                func.lower(Part.name) == part["name"].lower(),
            )
        ).first()
        if row is None:
            row = Part(
                stream_id=stream_id,
                asset_name=part["asset_name"],
                name=part["name"],
                created_at=part["created_at"],
            )
            session.add(row)
        row.withdrawn = part["withdrawn"]
        session.flush()
        found[part["id"]] = row.id
    return found


def _bring_publishes(
    session: Session, stream: _Stream, scene_ids: dict[int, int], part_ids: dict[int, int]
) -> tuple[dict[int, int], int]:
    """Offline publishes inserted with their UUIDs, numbers and times, and the offline
    changes of copied ones (completed, failed, deprecated, latest no more) carried; returns
    (local publish id -> studio id, how many were inserted)."""
    studio_rows = {
        row["publish_id"]: row
        for row in session.execute(
            select(PUBLISHES).where(
                PUBLISHES.c.publish_id.in_([p["publish_id"] for p in stream.publishes])
            )
        ).mappings()
    }
    new_or_changed = [
        p
        for p in stream.publishes
        if p["publish_id"] not in studio_rows
        or any(studio_rows[p["publish_id"]][f] != p[f] for f in PUBLISH_FIELDS)
    ]
    touched = {p["part_id"] for p in new_or_changed}
    for part_id in touched:
        session.execute(
            update(PUBLISHES)
            .where(PUBLISHES.c.part_id == part_ids[part_id], is_latest(PUBLISHES))
            .values(is_latest=False)
        )
    found: dict[int, int] = {}
    for publish in stream.publishes:
        existing = studio_rows.get(publish["publish_id"])
        if existing is None:
            values = {
                **_without_id(publish),
                "part_id": part_ids[publish["part_id"]],
                "scene_id": scene_ids[publish["scene_id"]],
            }
            found[publish["id"]] = session.execute(
                insert(PUBLISHES).returning(PUBLISHES.c.id), values
            ).scalar_one()
            continue
        found[publish["id"]] = existing["id"]
        if publish["part_id"] in touched:
            session.execute(
                update(PUBLISHES)
                .where(PUBLISHES.c.id == existing["id"])
                .values({f: publish[f] for f in PUBLISH_FIELDS})
            )
    return found, sum(1 for p in new_or_changed if p["publish_id"] not in studio_rows)


def _bring_pins(
    session: Session, stream: _Stream, part_ids: dict[int, int], publish_ids: dict[int, int]
) -> None:
    """Each part's pin made as the checkout has it (pinned, re-pinned or unpinned)."""
    pins = {pin["part_id"]: pin for pin in stream.pins}
    for local_part, studio_part in part_ids.items():
        pin = pins.get(local_part)
        current = session.get(PartPin, studio_part)
        wanted = publish_ids.get(pin["publish_id"]) if pin else None
        if current is not None and current.publish_id == wanted:
            continue
        session.execute(delete(PartPin).where(PartPin.part_id == studio_part))
        if pin is not None and wanted is not None:
            session.add(
                PartPin(
                    part_id=studio_part,
                    publish_id=wanted,
                    pinned_by=pin["pinned_by"],
                    created_at=pin["created_at"],
                )
            )
    session.flush()


def _asset_keys(session: Session, work: _Work) -> list[AssetKey]:
    """Every asset of the work's streams in the studio, for the layers."""
    keys = session.execute(
        select(Part.stream_id, Part.asset_name)
        .join(SceneStream, SceneStream.id == Part.stream_id)
        .where(
            SceneStream.project_id == work.project_id,
            SceneStream.key.in_([s.key for s in work.streams]),
        )
        .distinct()
    )
    found = {
        AssetKey(stream_id, name.casefold()): AssetKey(stream_id, name) for stream_id, name in keys
    }
    return sorted(found.values())


# -- files ------------------------------------------------------------------------------


def _files_to_copy(work: _Work, studio_root: str) -> list[tuple[str, str]]:
    """(laptop file, studio file) of every file of the offline records, when the laptop
    has its own copy of the project root; nothing when the root is shared."""
    local_root = work.local_roots.get(platform())
    if not local_root or local_root.rstrip("/") == studio_root.rstrip("/"):
        return []
    relative: list[str] = []
    for stream in work.streams:
        relative += [scene["path"] for scene in stream.scenes]
        for publish in stream.publishes:
            data = join_root(local_root, publish["item_usd_path"])
            relative.append(publish["item_usd_path"])
            folder = Path(publish_folder(data))
            if folder.is_dir():
                relative += [
                    f"{os.path.splitext(publish['item_usd_path'])[0]}/"
                    f"{path.relative_to(folder).as_posix()}"
                    for path in sorted(folder.rglob("*"))
                    if path.is_file()
                ]
    pairs = [(join_root(local_root, r), join_root(studio_root, r)) for r in dict.fromkeys(relative)]
    return [(source, target) for source, target in pairs if os.path.isfile(source)]


def _digest(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _same(source: str, target: str) -> bool:
    return os.path.getsize(source) == os.path.getsize(target) and _digest(source) == _digest(target)


def _differs(source: str, target: str) -> bool:
    """Whether `target` exists with other bytes than `source` (never overwritten)."""
    return os.path.lexists(target) and not _same(source, target)


def _copy_verified(source: str, target: str) -> int:
    """Copy `source` to `target` beside it first, checked by size and SHA-256, then renamed
    into place; 0 if `target` is there already (checked to hold the same bytes before any
    copy began), else 1. Raises PmError."""
    if os.path.lexists(target):
        return 0
    for leftover in files.leftovers(target):  # a copy an earlier, killed run began
        files.remove_leftover(leftover)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temp = files.temp_beside(target)
    try:
        shutil.copyfile(source, temp)
        if not _same(source, temp):
            raise PmError(
                f"the copy of {source} to {target} came out different; nothing was recorded, "
                "run the check-in again",
                field="root",
            )
        os.replace(temp, target)
    except OSError as exc:
        raise PmError(
            f"cannot copy {source} to {target}: {exc.strerror}; nothing was recorded, fix "
            "that and run the check-in again",
            field="root",
        ) from exc
    finally:
        files.discard(temp)
    return 1
