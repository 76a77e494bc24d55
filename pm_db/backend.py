"""The backend interface the Houdini tools, panels and batches talk to.

Two implementations: `LocalBackend` (the service layer over a database session) and
`RemoteBackend` in pm_db.remote (`requests` against the REST service). `get_backend()`
reads the environment: `PM_API_URL` set selects the remote one, otherwise the database
(`PM_DB_URL`, ...). Callers cannot tell which they got: both take and return the same
pydantic models and raise the same pm_db.errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pm_db import schemas
from pm_db.config import Settings, load_settings

if TYPE_CHECKING:
    from pm_db.db import Database
    from pm_db.services.events import EventOut
    from pm_db.services.parts import PartOut
    from pm_db.usd.layers import RebuildReport
    from pm_db.views import BrowseNode, TaskRow


class Backend(Protocol):
    """What a front end may ask of pm."""

    def save_scene(self, data: object) -> schemas.SceneOut: ...

    def get_scene(self, scene_id: int) -> schemas.SceneOut: ...

    def find_scene_by_path(self, path: str) -> schemas.SceneOut: ...

    def discard_scene(self, scene_id: int, reason: str) -> schemas.SceneOut: ...

    def reserve_publish(self, data: object) -> schemas.PublishOut: ...

    def complete_publish(self, ref: int | str) -> schemas.PublishOut: ...

    def fail_publish(self, ref: int | str, reason: str) -> schemas.PublishOut: ...

    def publish_part(self, data: object) -> schemas.PublishOut: ...

    def deprecate_publish(self, ref: int | str) -> schemas.PublishOut: ...

    def get_publish(self, ref: int | str) -> schemas.PublishOut: ...

    def latest_per_part(
        self, asset_name: str, project_id: int | None = None, task_id: int | None = None
    ) -> list[schemas.PublishOut]: ...

    def list_publishes(self, **filters: Any) -> list[schemas.PublishOut]: ...

    def get_part(self, ref: int | str, project: str | None = None) -> PartOut: ...

    def list_parts(
        self, asset_name: str | None = None, project: str | None = None
    ) -> list[PartOut]: ...

    def pin_part(self, data: object) -> PartOut: ...

    def unpin_part(self, data: object) -> PartOut: ...

    def withdraw_part(self, data: object) -> PartOut: ...

    def restore_part(self, data: object) -> PartOut: ...

    def rebuild_layers(
        self, asset_name: str | None = None, project: str | None = None
    ) -> RebuildReport: ...

    def browse_roots(self) -> list[BrowseNode]: ...

    def browse_children(self, keys: list[str], limit: int = 200) -> list[BrowseNode]: ...

    def browse_versions(
        self, part_id: int, offset: int = 0, limit: int = 200
    ) -> list[BrowseNode]: ...

    def browse_search(self, text: str, limit: int = 200) -> list[list[str]]: ...

    def artist_tasks(self, artist: str) -> list[TaskRow]: ...

    def task_row(self, task_id: int) -> TaskRow: ...

    def record_launch(self, data: object) -> EventOut: ...

    def get(self, kind: str, ident: int) -> Any: ...

    def find(self, kind: str, key: str, **scope: int) -> Any: ...

    def list(self, kind: str, **filters: Any) -> list[Any]: ...

    def create(self, kind: str, data: object) -> Any: ...

    def update(self, kind: str, ident: int, data: object) -> Any: ...

    def delete(self, kind: str, ident: int) -> None: ...


class LocalBackend:
    """The backend over a database this process opens itself."""

    def __init__(self, settings: Settings | None = None, db: Database | None = None) -> None:
        from pm_db.db import open_database

        self.db = db or open_database(settings)

    def save_scene(self, data: object) -> schemas.SceneOut:
        from pm_db.services import scenes

        return scenes.save_scene(self.db, data)

    def get_scene(self, scene_id: int) -> schemas.SceneOut:
        from pm_db.services import scenes

        return scenes.get_scene(self.db, schemas.check_id(scene_id, "scene_id"))

    def find_scene_by_path(self, path: str) -> schemas.SceneOut:
        from pm_db.services import scenes

        return scenes.find_scene_by_path(self.db, path)

    def discard_scene(self, scene_id: int, reason: str) -> schemas.SceneOut:
        from pm_db.services import scenes

        return scenes.discard_scene(self.db, schemas.check_id(scene_id, "scene_id"), reason)

    # A local backend holds the database's own credentials: it acts for any artist.
    def reserve_publish(self, data: object) -> schemas.PublishOut:
        from pm_db import publishing

        return publishing.reserve(self.db, None, data)

    def complete_publish(self, ref: int | str) -> schemas.PublishOut:
        from pm_db import publishing

        return publishing.complete(self.db, None, schemas.check_ref(ref, "publish_id"))

    def fail_publish(self, ref: int | str, reason: str) -> schemas.PublishOut:
        from pm_db import publishing

        return publishing.fail(self.db, None, schemas.check_ref(ref, "publish_id"), reason)

    def publish_part(self, data: object) -> schemas.PublishOut:
        from pm_db import publishing

        return publishing.publish_written(self.db, None, data)

    def deprecate_publish(self, ref: int | str) -> schemas.PublishOut:
        from pm_db import publishing

        return publishing.deprecate(self.db, None, schemas.check_ref(ref, "publish_id"))

    def get_publish(self, ref: int | str) -> schemas.PublishOut:
        from pm_db.services import publish_reads

        return publish_reads.get_publish(self.db, schemas.check_ref(ref, "publish_id"))

    def latest_per_part(
        self, asset_name: str, project_id: int | None = None, task_id: int | None = None
    ) -> list[schemas.PublishOut]:
        from pm_db.services import publish_reads

        for name, value in (("project_id", project_id), ("task_id", task_id)):
            if value is not None:
                schemas.check_id(value, name)
        return publish_reads.latest_per_part(self.db, asset_name, project_id, task_id)

    def list_publishes(self, **filters: Any) -> list[schemas.PublishOut]:
        from pm_db.services import publish_reads

        for name, value in filters.items():
            if name.endswith("_id") and value is not None:
                schemas.check_id(value, name)
        return publish_reads.list_publishes(self.db, **filters)

    def get_part(self, ref: int | str, project: str | None = None) -> PartOut:
        from pm_db.services import parts

        return parts.get_part(self.db, ref, project)

    def list_parts(
        self, asset_name: str | None = None, project: str | None = None
    ) -> list[PartOut]:
        from pm_db.services import parts

        return parts.list_parts(self.db, asset_name, project)

    def pin_part(self, data: object) -> PartOut:
        from pm_db.services import parts

        return parts.pin_part(self.db, data)

    def unpin_part(self, data: object) -> PartOut:
        from pm_db.services import parts

        return parts.unpin_part(self.db, data)

    def withdraw_part(self, data: object) -> PartOut:
        from pm_db.services import parts

        return parts.withdraw_part(self.db, data)

    def restore_part(self, data: object) -> PartOut:
        from pm_db.services import parts

        return parts.restore_part(self.db, data)

    def rebuild_layers(
        self, asset_name: str | None = None, project: str | None = None
    ) -> RebuildReport:
        from pm_db.usd import layers

        return layers.rebuild(self.db, project, asset_name)

    def browse_roots(self) -> list[BrowseNode]:
        from pm_db.services import browse

        return browse.roots(self.db)

    def browse_children(self, keys: list[str], limit: int = 200) -> list[BrowseNode]:
        from pm_db.services import browse

        return browse.children(self.db, keys, limit)

    def browse_versions(self, part_id: int, offset: int = 0, limit: int = 200) -> list[BrowseNode]:
        from pm_db.services import browse

        return browse.versions(self.db, schemas.check_id(part_id, "part_id"), offset, limit)

    def browse_search(self, text: str, limit: int = 200) -> list[list[str]]:
        from pm_db.services import browse

        return browse.search(self.db, text, limit)

    def artist_tasks(self, artist: str) -> list[TaskRow]:
        from pm_db.services import browse

        return browse.artist_tasks(self.db, artist)

    def task_row(self, task_id: int) -> TaskRow:
        from pm_db.services import browse

        return browse.task_row(self.db, schemas.check_id(task_id, "task_id"))

    def record_launch(self, data: object) -> EventOut:
        from pm_db.services import launches

        return launches.record_launch(self.db, data)

    def get(self, kind: str, ident: int) -> Any:
        from pm_db.services import entities

        return entities.get(self.db, kind, ident)

    def find(self, kind: str, key: str, **scope: int) -> Any:
        from pm_db.services import entities

        return entities.find(self.db, kind, key, **scope)

    def list(self, kind: str, **filters: Any) -> list[Any]:
        from pm_db.services import entities

        return entities.list_(self.db, kind, **filters)

    def create(self, kind: str, data: object) -> Any:
        from pm_db.services import entities

        return entities.create(self.db, kind, data)

    def update(self, kind: str, ident: int, data: object) -> Any:
        from pm_db.services import entities

        return entities.update(self.db, kind, ident, data)

    def delete(self, kind: str, ident: int) -> None:
        from pm_db.services import entities

        entities.delete(self.db, kind, ident)


def get_backend(settings: Settings | None = None) -> Backend:
    """The backend the environment selects: the REST service when PM_API_URL is set
    (with PM_API_TOKEN), else the database. Raises ConfigError."""
    settings = settings or load_settings()
    if settings.api_url:
        from pm_db.remote import RemoteBackend

        return RemoteBackend(
            settings.api_url, settings.api_token, retry_window=settings.retry_window
        )
    return LocalBackend(settings)
