"""Saving work files: `save_scene` hands out the next number and the path to write."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pm_db import schemas
from pm_db.db import Database
from pm_db.errors import Conflict, NotFound, ValidationError
from pm_db.models import Artist, Project, Publish, Scene, SceneStream, Task
from pm_db.services import events
from pm_db.services.context import (
    Rooted,
    absolute_path,
    format_relative,
    load_context,
    parse_relative,
    project_roots,
    relative_path,
    template_set,
)
from pm_db.templates import TARGET_TYPES
from pm_db.versions import next_scene_number

HOUDINI_EXTENSIONS = ("hip", "hipnc", "hiplc")


def artist_by_login(session: Session, login: str, field: str = "artist") -> Artist:
    """The active artist `login`; raises NotFound or ValidationError (inactive)."""
    artist = session.scalars(select(Artist).where(Artist.login == login.lower())).first()
    if artist is None:
        raise NotFound(f"no artist with login {login!r}", field=field)
    if not artist.active:
        raise ValidationError(f"artist {login!r} is inactive", field=field)
    return artist


def scene_out(scene: Scene, project: Rooted, login: str) -> schemas.SceneOut:
    return schemas.SceneOut(
        id=scene.id,
        task_id=scene.task_id,
        artist=login,
        software=scene.software,
        name=scene.name,
        version=scene.version,
        iteration=scene.iteration,
        path=absolute_path(project, scene.path),
        host=scene.host,
        software_version=scene.software_version,
        created_at=scene.created_at,
    )


def save_scene(db: Database, data: object) -> schemas.SceneOut:
    """Record the next save of a work file and return it with the path to write.

    Save: next iteration of the current version (first save v001 i001); `version_up`:
    next version, iteration 1. A request carrying a `request_id` that an earlier save
    already used returns that save and takes no number (a retry). Raises
    ValidationError, NotFound, Conflict.
    """
    request = schemas.parse(schemas.SaveRequest, data)
    if request.software == "houdini" and request.ext not in HOUDINI_EXTENSIONS:
        raise ValidationError(f"must be one of {', '.join(HOUDINI_EXTENSIONS)}", field="ext")

    def work(session: Session) -> schemas.SceneOut:
        first = _saved_by(session, request)
        if first is not None:
            return first
        context = load_context(session, request.task_id)
        artist = artist_by_login(session, request.artist)
        names = {"software": request.software, "artist": artist.login, "scene": request.scene_name}
        folder = context.relative("scene_folder", **names)
        stream_id, version, iteration = next_scene_number(
            session, context.project.id, folder, request.version_up
        )
        path = context.relative(
            "scene_file", **names, version=version, iteration=iteration, ext=request.ext
        )
        scene = Scene(
            stream_id=stream_id,
            task_id=request.task_id,
            artist_id=artist.id,
            software=request.software,
            name=request.scene_name,
            version=version,
            iteration=iteration,
            path=path,
            host=request.host or events.HOST,
            software_version=request.software_version,
            request_id=request.request_id,
        )
        session.add(scene)
        session.flush()
        kind = "scene.version_up" if request.version_up else "scene.saved"
        events.record(session, kind, "scene", scene.id, artist.id, {"path": path}, host=scene.host)
        return scene_out(scene, context.project, artist.login)

    try:
        return db.write(work)
    except IntegrityError:
        # The same request saved meanwhile by a racing retry: its transaction, number
        # included, was undone; answer with the save that won.
        first = db.read(lambda session: _saved_by(session, request))
        if first is None:
            raise
        return first


def _saved_by(session: Session, request: schemas.SaveRequest) -> schemas.SceneOut | None:
    """The save an earlier request with the same request id made, or None; raises
    Conflict if that id made a save of another task or scene."""
    if request.request_id is None:
        return None
    scene = session.scalars(select(Scene).where(Scene.request_id == request.request_id)).first()
    if scene is None:
        return None
    if (scene.task_id, scene.name) != (request.task_id, request.scene_name):
        raise Conflict(
            f"already used by save {scene.id} of another task or scene", field="request_id"
        )
    return _scene_row(session, scene)


def _scene_row(session: Session, scene: Scene) -> schemas.SceneOut:
    task = session.get(Task, scene.task_id)
    assert task is not None
    project = session.get(Project, task.project_id)
    artist = session.get(Artist, scene.artist_id)
    assert project is not None and artist is not None
    return scene_out(scene, project, artist.login)


def get_scene(db: Database, scene_id: int) -> schemas.SceneOut:
    """One saved scene; raises NotFound."""

    def work(session: Session) -> schemas.SceneOut:
        scene = session.get(Scene, scene_id)
        if scene is None:
            raise NotFound(f"no scene with id {scene_id}", field="scene_id")
        return _scene_row(session, scene)

    return db.read(work)


def find_scene_by_path(db: Database, path: str) -> schemas.SceneOut:
    """The saved scene whose file is `path` (under any platform's root, any case): the
    path is parsed with the project's templates, then found by its folder's counter and
    its numbers, through unique indexes. Raises ValidationError (outside every project)
    or NotFound (not a pm scene path, or never saved through pm)."""

    def work(session: Session) -> schemas.SceneOut:
        for project in session.scalars(select(Project)):
            try:
                relative = relative_path(project, path)
            except ValidationError:
                continue
            scene = _scene_at(session, project, relative)
            if scene is None:
                raise NotFound(f"{path!r} was not saved through pm", field="path")
            return _scene_row(session, scene)
        raise ValidationError(f"{path!r} is not inside any project's roots", field="path")

    return db.read(work)


def _scene_at(session: Session, project: Project, relative: str) -> Scene | None:
    """The scene recorded at a project-relative path, or None."""
    templates = template_set(project.templates)
    root = next(iter(project_roots(project).values()))
    for target_type in TARGET_TYPES:
        try:
            fields = parse_relative(templates.get("scene_file", target_type), root, relative)
        except ValidationError:
            continue
        folder = format_relative(templates.get("scene_folder", target_type), root, fields)
        scene = session.scalars(
            select(Scene)
            .join(SceneStream, SceneStream.id == Scene.stream_id)
            .where(
                SceneStream.project_id == project.id,
                SceneStream.key == folder.casefold(),
                Scene.version == fields["version"],
                Scene.iteration == fields["iteration"],
                func.lower(Scene.path) == relative.lower(),
            )
        ).first()
        if scene is not None:
            return scene
    return None


def list_scenes(
    db: Database,
    task_id: int | None = None,
    artist: str | None = None,
    name: str | None = None,
    limit: int = 200,
) -> list[schemas.SceneOut]:
    """Saved scenes, newest first, optionally of one task, artist or scene name."""

    def work(session: Session) -> list[schemas.SceneOut]:
        query = (
            select(Scene, Project, Artist.login)
            .join(Task, Task.id == Scene.task_id)
            .join(Project, Project.id == Task.project_id)
            .join(Artist, Artist.id == Scene.artist_id)
            .order_by(Scene.id.desc())
            .limit(limit)
        )
        if task_id is not None:
            query = query.where(Scene.task_id == task_id)
        if artist:
            query = query.where(Artist.login == artist.lower())
        if name:
            query = query.where(func.lower(Scene.name) == name.lower())
        return [scene_out(s, p, login) for s, p, login in session.execute(query)]

    return db.read(work)


def discard_scene(db: Database, scene_id: int, reason: str) -> schemas.SceneOut:
    """Remove the record of a save whose file could not be written (Houdini failed, the
    disk was full), so that no record names a file that does not exist. Its number stays
    used: the next save takes the next one. The event log keeps what happened.
    Raises NotFound, Conflict (a publish came from this scene)."""

    def work(session: Session) -> schemas.SceneOut:
        scene = session.get(Scene, scene_id)
        if scene is None:
            raise NotFound(f"no scene with id {scene_id}", field="scene_id")
        published = session.scalar(
            select(func.count()).select_from(Publish).where(Publish.scene_id == scene_id)
        )
        if published:
            raise Conflict(
                f"scene {scene_id} has {published} publishes; a published scene is kept",
                field="scene_id",
            )
        shown = _scene_row(session, scene)
        session.delete(scene)
        events.record(
            session,
            "scene.discarded",
            "scene",
            scene_id,
            scene.artist_id,
            {"path": scene.path, "reason": reason[:4000]},
        )
        return shown

    return db.write(work)
