"""`pm doctor`: does what is on disk agree with the database, and can pm repair it?

Checks, in order (docs/publishing.md explains each):

1. pins: a pin whose publish is no longer published (deprecated since) no longer counts;
   repair removes it.
2. reservations: a publish pending for longer than `stale_after` (since it was reserved
   or last retried) belongs to a process that died; repair marks it failed, which keeps
   its numbers and lets the artist retry.
3. layers: what every part and asset layer must say is worked out from the publish
   records by doctor's own reading (pm_db.layer_audit, not the writer's query) and
   compared with the layers on disk read by USD: a part missing from its asset layer, a
   part layer pointing at anything but its resolved publish, a layer naming a withdrawn
   part, a missing layer, and temporary files USD left beside a data layer. Each layer
   must also hold exactly the bytes the writer gives (stale provenance, or a temporary
   file of pm's own). Repair rewrites them under the asset's lock and removes the
   leftovers; problems are confirmed under that lock before they are reported, so a
   publish in flight is not a false alarm.
4. data layers: the data layer of every published record must exist. This cannot be
   derived: doctor reports it (deprecate the publish, or restore the file) and never
   deletes or rewrites a data file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pm_db import layer_audit
from pm_db.db import Database
from pm_db.errors import NotFound, PmError
from pm_db.models import Event, Part, PartPin, Project, Publish, Task, utcnow
from pm_db.numbers import label as numbers_label
from pm_db.services.context import absolute_path
from pm_db.usd import layers
from pm_db.usd.state import AssetKey, asset_state

STALE_AFTER = timedelta(hours=24)
"""A reservation pending this long is stale by default: long enough for a farm to
render a heavy data layer between reserve and complete."""

Progress = Callable[[int, int], None]


class Problem(BaseModel):
    """One disagreement between the database and the files."""

    kind: str
    subject: str
    path: str | None
    message: str
    repair: str | None
    repaired: bool = False
    error: str | None = None


class DoctorReport(BaseModel):
    """What doctor checked and found; `ok` when nothing is left unrepaired."""

    ok: bool
    repair: bool
    checked: dict[str, int]
    problems: list[Problem]


def _label(publish: Publish) -> str:
    return (
        f"publish {publish.id} {publish.asset_name}/{publish.part_name} "
        f"{numbers_label(publish.version, publish.iteration)}"
    )


def _project_id(session: Session, project: str | None) -> int | None:
    if project is None:
        return None
    project_id = session.scalar(
        select(Project.id).where(func.lower(Project.code) == project.lower())
    )
    if project_id is None:
        raise NotFound(f"no project {project!r}", field="project")
    return project_id


def examine(
    db: Database,
    repair: bool = False,
    stale_after: timedelta = STALE_AFTER,
    project: str | None = None,
    progress: Progress | None = None,
    found: list[Problem] | None = None,
) -> DoctorReport:
    """Check pins, reservations, layers and data layers (of one project, by code, or all);
    with `repair`, fix what can be derived from the database. Each problem is appended to
    `found` (if given) as soon as it is checked or repaired, so a caller interrupted
    half-way knows what was done. Raises NotFound (project), Unavailable."""
    project_id = db.read(lambda s: _project_id(s, project))
    pins = db.read(lambda s: _stale_pins(s, project_id))
    pending = db.read(lambda s: _pending(s, project_id))
    published = db.read(lambda s: _published(s, project_id))
    keys = [AssetKey(*key) for key in db.read(lambda s: layer_audit.assets(s, project_id))]
    total = len(pins) + len(pending) + len(keys) + len(published)
    tick = _ticker(progress, total)
    problems: list[Problem] = [] if found is None else found
    for problem, part_id in pins:
        problems.append(_repair_pin(db, problem, part_id) if repair else problem)
        tick()
    cutoff = utcnow() - stale_after
    for publish_id, problem, since in pending:
        if since <= cutoff:
            problems.append(_repair_reservation(db, problem, publish_id) if repair else problem)
        tick()
    layer_count = 0
    for key in keys:
        found, count = _check_asset(db, key, repair)
        problems.extend(found)
        layer_count += count
        tick()
    for problem in published:
        if problem.path is not None and not os.path.isfile(problem.path):
            problems.append(problem)
        tick()
    return DoctorReport(
        ok=all(p.repaired for p in problems),
        repair=repair,
        checked={
            "pins": len(pins),
            "reservations": len(pending),
            "assets": len(keys),
            "layers": layer_count,
            "data_layers": len(published),
        },
        problems=problems,
    )


def _ticker(progress: Progress | None, total: int) -> Callable[[], None]:
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    return tick


def _stale_pins(session: Session, project_id: int | None) -> list[tuple[Problem, int]]:
    """Pins on a publish that is no longer published, with their part ids."""
    query = (
        select(PartPin.part_id, Publish)
        .join(Publish, Publish.id == PartPin.publish_id)
        .join(Task, Task.id == Publish.task_id)
        .where(Publish.status != "published")
        .order_by(PartPin.part_id)
    )
    if project_id is not None:
        query = query.where(Task.project_id == project_id)
    return [
        (
            Problem(
                kind="pin_not_published",
                subject=f"part {part_id} {publish.asset_name}/{publish.part_name}",
                path=None,
                message=f"pinned to {_label(publish)}, which is {publish.status}; "
                "the part follows its latest",
                repair="remove the pin",
            ),
            part_id,
        )
        for part_id, publish in session.execute(query)
    ]


def _with_project(
    session: Session, status: str, project_id: int | None
) -> list[tuple[Publish, Project]]:
    """Publishes in `status` with their project, in id order, optionally of one project."""
    query = (
        select(Publish, Project)
        .join(Task, Task.id == Publish.task_id)
        .join(Project, Project.id == Task.project_id)
        .where(Publish.status == status)
        .order_by(Publish.id)
    )
    if project_id is not None:
        query = query.where(Task.project_id == project_id)
    return [(publish, project) for publish, project in session.execute(query)]


def _pending(session: Session, project_id: int | None) -> list[tuple[int, Problem, datetime]]:
    """Every pending publish with the time it became pending (reserved or last retried)."""
    rows = _with_project(session, "pending", project_id)
    retried: dict[int | None, datetime] = {
        publish_id: at
        for publish_id, at in session.execute(
            select(Event.entity_id, func.max(Event.created_at))
            .where(
                Event.kind == "publish.retried",
                Event.entity_type == "publish",
                Event.entity_id.in_([publish.id for publish, _ in rows]),
            )
            .group_by(Event.entity_id)
        )
    }
    found = []
    for publish, project in rows:
        since = max(publish.created_at, retried.get(publish.id) or publish.created_at)
        stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        problem = Problem(
            kind="stale_reservation",
            subject=_label(publish),
            path=absolute_path(project, publish.item_usd_path),
            message=f"pending since {stamp}; the process that reserved it is gone",
            repair="mark it failed (retry the publish to re-open it)",
        )
        found.append((publish.id, problem, since))
    return found


def _published(session: Session, project_id: int | None) -> list[Problem]:
    """The data-layer problem each published record would have if its file were missing."""
    return [
        Problem(
            kind="data_missing",
            subject=_label(publish),
            path=absolute_path(project, publish.item_usd_path),
            message="the data layer of this published record does not exist; restore the "
            f"file, or deprecate the publish (pm publish deprecate {publish.id})",
            repair=None,
        )
        for publish, project in _with_project(session, "published", project_id)
    ]


def _check_asset(db: Database, key: AssetKey, repair: bool) -> tuple[list[Problem], int]:
    """(problems, layer files checked) of one asset's layers; see the module doc."""
    if not _asset_problems(db.read(lambda s: _findings(s, key))):
        expected = db.read(lambda s: layer_audit.expected(s, key.stream_id, key.asset_name))
        return [], len(expected.parts) + 1

    def confirm(session: Session) -> tuple[list[Problem], int]:
        layers.lock(session, key)
        found = _asset_problems(_findings(session, key))
        state = asset_state(session, key)
        count = 0 if state is None else len(state.parts) + 1
        if not (repair and found and state is not None):
            return found, count
        try:
            layers.write(state)
            for problem in found:
                if problem.kind == "usd_temp_file" and problem.path is not None:
                    os.unlink(problem.path)
        except (PmError, OSError) as exc:
            for problem in found:
                problem.error = str(exc)
            return found, count
        left = {(p.kind, p.path) for p in _asset_problems(_findings(session, key))}
        for problem in found:
            problem.repaired = (problem.kind, problem.path) not in left
            if not problem.repaired:
                problem.error = "still there after the repair"
        return found, count

    return db.write(confirm)


def _findings(
    session: Session, key: AssetKey
) -> tuple[list[layer_audit.Finding], list[layers.LayerProblem], str]:
    """What doctor's own reading finds, what the writer's byte comparison finds, and the
    asset's project and name."""
    expected = layer_audit.expected(session, key.stream_id, key.asset_name)
    pending = {
        os.path.splitext(os.path.basename(path))[0]
        for path in session.scalars(
            select(Publish.item_usd_path).where(
                Publish.status == "pending",
                Publish.part_id.in_(select(Part.id).where(Part.stream_id == key.stream_id)),
            )
        )
    }
    audit = layer_audit.audit(expected, pending)
    state = asset_state(session, key)
    written = [] if state is None else layers.problems(state)
    return audit, written, f"{expected.project} {expected.asset}"


def _asset_problems(
    found: tuple[list[layer_audit.Finding], list[layers.LayerProblem], str],
) -> list[Problem]:
    """The problems of one asset, each layer reported once (doctor's own reading first)."""
    audit, written, project = found
    problems = [_audit_problem(project, finding) for finding in audit]
    seen = {p.path for p in problems}
    problems += [_layer_problem(p) for p in written if p.path not in seen]
    return problems


_AUDIT_REPAIRS = {
    "layer_missing": "write it",
    "layer_unreadable": "rewrite it",
    "part_layer_wrong": "rewrite it",
    "asset_part_missing": "rewrite it",
    "asset_part_extra": "rewrite it",
    "usd_temp_file": "remove it",
}


def _audit_problem(project: str, finding: layer_audit.Finding) -> Problem:
    return Problem(
        kind=finding.kind,
        subject=f"asset {project}",
        path=finding.path,
        message=finding.message,
        repair=_AUDIT_REPAIRS[finding.kind],
    )


def _layer_problem(found: layers.LayerProblem) -> Problem:
    repairs = {"temp_file": "remove it", "layer_missing": "write it", "layer_stale": "rewrite it"}
    return Problem(
        kind=found.kind,
        subject=f"asset {found.project} {found.asset}",
        path=found.path,
        message=found.message,
        repair=repairs[found.kind],
    )


def _repair_pin(db: Database, problem: Problem, part_id: int) -> Problem:
    from pm_db.services import parts

    try:
        parts.unpin_part(db, {"part": part_id})
    except PmError as exc:
        return problem.model_copy(update={"error": str(exc)})
    return problem.model_copy(update={"repaired": True})


def _repair_reservation(db: Database, problem: Problem, publish_id: int) -> Problem:
    from pm_db import publishing

    reason = f"stale reservation failed by pm doctor --repair ({problem.message})"
    try:
        done = publishing.fail(db, None, publish_id, reason)
    except PmError as exc:
        return problem.model_copy(update={"error": str(exc)})
    return problem.model_copy(update={"repaired": done.status == "failed"})
