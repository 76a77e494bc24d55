"""The schema, readable top to bottom. Migrations in `migrations/` create it; tests check
that the two agree.

Delete rules: a record that others point at cannot be deleted (RESTRICT), so no orphan
can be created and nothing is lost by a delete; the `events` log has no foreign keys on
purpose: it outlives what it speaks of.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")
IdType = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {int: IdType, datetime: UTCDateTime, dict[str, Any]: JsonType}


def _id() -> Mapped[int]:
    return mapped_column(IdType, primary_key=True, autoincrement=True)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Setting(Base):
    """Database-wide settings, e.g. `production` (then `pm db reset` refuses)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (Index("uq_projects_code_ci", func.lower(text("code")), unique=True),)

    id: Mapped[int] = _id()
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    root_linux: Mapped[str | None] = mapped_column(String(1024))
    root_windows: Mapped[str | None] = mapped_column(String(1024))
    root_mac: Mapped[str | None] = mapped_column(String(1024))
    templates: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = _created()


class Sequence(Base):
    __tablename__ = "sequences"
    __table_args__ = (
        Index("uq_sequences_code_ci", "project_id", func.lower(text("code")), unique=True),
    )

    id: Mapped[int] = _id()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class Shot(Base):
    __tablename__ = "shots"
    __table_args__ = (
        Index("uq_shots_code_ci", "sequence_id", func.lower(text("code")), unique=True),
        CheckConstraint("frame_end >= frame_start", name="frame_range"),
    )

    id: Mapped[int] = _id()
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequences.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    frame_start: Mapped[int] = mapped_column(Integer, default=1001)
    frame_end: Mapped[int] = mapped_column(Integer, default=1100)
    created_at: Mapped[datetime] = _created()


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (
        Index("uq_assets_code_ci", "project_id", func.lower(text("code")), unique=True),
    )

    id: Mapped[int] = _id()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(64))
    asset_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()


class Artist(Base):
    __tablename__ = "artists"

    id: Mapped[int] = _id()
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()


class Task(Base):
    """A piece of work on exactly one target: a shot or an asset."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("(shot_id IS NULL) <> (asset_id IS NULL)", name="one_target"),
        Index(
            "uq_tasks_shot_step_name",
            "shot_id",
            "step",
            "name",
            unique=True,
            sqlite_where=text("shot_id IS NOT NULL"),
            postgresql_where=text("shot_id IS NOT NULL"),
        ),
        Index(
            "uq_tasks_asset_step_name",
            "asset_id",
            "step",
            "name",
            unique=True,
            sqlite_where=text("asset_id IS NOT NULL"),
            postgresql_where=text("asset_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = _id()
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    shot_id: Mapped[int | None] = mapped_column(ForeignKey("shots.id", ondelete="RESTRICT"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="RESTRICT"))
    step: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    artist_id: Mapped[int | None] = mapped_column(
        ForeignKey("artists.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(32), default="todo")
    created_at: Mapped[datetime] = _created()


class SceneStream(Base):
    """The number counter of one scene file location (its folder, minus the numbers).

    Keyed by the project-relative scene folder, case-folded, so that two saves that would
    land in the same folder (on any file system) always draw from the same counter: paths
    can never collide. `folder` keeps the exact spelling of the first save.
    """

    __tablename__ = "scene_streams"
    __table_args__ = (UniqueConstraint("project_id", "key"),)

    id: Mapped[int] = _id()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    key: Mapped[str] = mapped_column(String(1024))
    folder: Mapped[str] = mapped_column(String(1024))
    version: Mapped[int] = mapped_column(Integer)
    iteration: Mapped[int] = mapped_column(Integer)


class Scene(Base):
    """One saved work file. `request_id`, if the client sent one, makes a retried save
    return this record instead of taking a new number."""

    __tablename__ = "scenes"
    __table_args__ = (
        UniqueConstraint("stream_id", "version", "iteration"),
        CheckConstraint("version >= 1 AND iteration >= 1", name="numbers"),
        Index("uq_scenes_request_id", "request_id", unique=True),
        # A task's saves newest first, read from the index in order.
        Index("ix_scenes_task_id_id", "task_id", "id"),
    )

    id: Mapped[int] = _id()
    stream_id: Mapped[int] = mapped_column(ForeignKey("scene_streams.id", ondelete="RESTRICT"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"))
    artist_id: Mapped[int] = mapped_column(
        ForeignKey("artists.id", ondelete="RESTRICT"), index=True
    )
    software: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    iteration: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024))
    host: Mapped[str | None] = mapped_column(String(255))
    software_version: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = _created()


class Part(Base):
    """A USD part of an asset published from one scene location (`particles01` of
    `PinchIn`). Owns the stable part layer; may be pinned or withdrawn from its asset."""

    __tablename__ = "parts"
    __table_args__ = (
        Index(
            "uq_parts_name_ci",
            "stream_id",
            func.lower(text("asset_name")),
            func.lower(text("name")),
            unique=True,
        ),
    )

    id: Mapped[int] = _id()
    stream_id: Mapped[int] = mapped_column(ForeignKey("scene_streams.id", ondelete="RESTRICT"))
    asset_name: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()


class Publish(Base):
    """One published (or reserved, failed, deprecated) data layer of a part."""

    __tablename__ = "publishes"
    __table_args__ = (
        UniqueConstraint("part_id", "version", "iteration"),
        CheckConstraint("version >= 1 AND iteration >= 1", name="numbers"),
        CheckConstraint(
            "status IN ('pending', 'published', 'failed', 'deprecated')", name="status"
        ),
        Index(
            "uq_publishes_latest_part",
            "part_id",
            unique=True,
            sqlite_where=text("is_latest"),
            postgresql_where=text("is_latest"),
        ),
        Index("ix_publishes_asset_latest", "asset_name", "is_latest"),
        # A part's completions in order: its newest is one index seek however many
        # versions it has (see pm_db.usd.state).
        Index("ix_publishes_part_completed", "part_id", "published_seq"),
        # A file a new publish depends on is checked to be another publish's data layer.
        Index("ix_publishes_item_usd_path", "item_usd_path"),
        # The parts published on a shot or an asset, walked one seek per part (the web
        # view's and the asset browser's tree: pm_db.services.browse).
        Index("ix_publishes_target_part", "target_type", "target_id", "part_id"),
        # A task's publishes newest first, read from the index in order.
        Index("ix_publishes_task_id_id", "task_id", "id"),
    )

    id: Mapped[int] = _id()
    publish_id: Mapped[str] = mapped_column(String(36), unique=True)
    request_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id", ondelete="RESTRICT"))
    scene_id: Mapped[int] = mapped_column(ForeignKey("scenes.id", ondelete="RESTRICT"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(IdType)
    software: Mapped[str] = mapped_column(String(64))
    asset_name: Mapped[str] = mapped_column(String(64))
    part_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    iteration: Mapped[int] = mapped_column(Integer)
    item_usd_path: Mapped[str] = mapped_column(String(1024))
    part_usd_path: Mapped[str] = mapped_column(String(1024))
    asset_usd_path: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), index=True)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=False)
    # The part's completion order (1, 2, 3...): taken when the publish completes, as one
    # more than the part's highest, under the part's lock; never for a repeated request.
    published_seq: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType, default=dict)
    created_by: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = _created()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def is_latest(table: Any) -> ColumnElement[Any]:
    """The bare term `<table>.is_latest`, exactly as the partial index `uq_publishes_latest_part`
    is written: SQLite uses a partial index only for a query that repeats its condition
    word for word (`is_latest IS 1` or `= 1` walk every version of the part instead)."""
    # Untyped on purpose: a Boolean-typed term would be rendered `= 1` on SQLite.
    return literal_column(f"{table.name}.is_latest")


class PartPin(Base):
    """A part held at a chosen publish instead of its latest; no row means "latest"."""

    __tablename__ = "part_pins"

    part_id: Mapped[int] = mapped_column(
        ForeignKey("parts.id", ondelete="RESTRICT"), primary_key=True
    )
    # Indexed: a publish's foreign-key check looks up the pins that name it.
    publish_id: Mapped[int] = mapped_column(
        ForeignKey("publishes.id", ondelete="RESTRICT"), index=True
    )
    pinned_by: Mapped[int | None] = mapped_column(ForeignKey("artists.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = _created()


class Event(Base):
    """Append-only log of what happened. No foreign keys: it outlives its subjects."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(IdType)
    artist_id: Mapped[int | None] = mapped_column(IdType)
    host: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = _created()


class Lease(Base):
    """A task checked out to a machine (pm_db.offline): while it is held, the studio
    refuses saves and publishes on its scene streams (pm_db.leases). The checkout's own
    database holds a copy of the row with the same `lease_id`."""

    __tablename__ = "leases"

    id: Mapped[int] = _id()
    lease_id: Mapped[str] = mapped_column(String(36), unique=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"), index=True)
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="RESTRICT"))
    host: Mapped[str] = mapped_column(String(255))
    # The project's templates when the task was checked out: a check-in refuses if they
    # changed, since every path the offline work recorded was made with these.
    templates: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = _created()
    broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    broken_by: Mapped[str | None] = mapped_column(String(255))
    broken_reason: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaseStream(Base):
    """One scene stream a lease covers: taken at checkout (held), or a stream the offline
    work created, recorded when it is checked in. `state` is what the stream and its parts
    were at checkout (pm_db.leases.stream_state): a check-in refuses a stream that changed
    since. `checked_in_at` is set in the transaction that brings the stream's offline
    records in, so a check-in run again skips it."""

    __tablename__ = "lease_streams"
    __table_args__ = (
        UniqueConstraint("lease_id", "stream_key"),
        # At most one held lease per stream; and the check every save and publish makes is
        # one seek here (written `WHERE held` to the letter, see `is_held`).
        Index(
            "uq_lease_streams_held_stream",
            "stream_id",
            unique=True,
            sqlite_where=text("held"),
            postgresql_where=text("held"),
        ),
    )

    id: Mapped[int] = _id()
    lease_id: Mapped[int] = mapped_column(ForeignKey("leases.id", ondelete="RESTRICT"))
    stream_key: Mapped[str] = mapped_column(String(1024))
    # Indexed whole as well: every save's change of its stream's counter makes SQLite
    # look here for rows naming the stream (a foreign-key check).
    stream_id: Mapped[int | None] = mapped_column(
        ForeignKey("scene_streams.id", ondelete="RESTRICT"), index=True
    )
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def is_held(table: Any) -> ColumnElement[Any]:
    """The bare term `<table>.held`, as the partial index `uq_lease_streams_held_stream` is
    written (see `is_latest`)."""
    return literal_column(f"{table.name}.held")


class ApiToken(Base):
    """A REST token: only its SHA-256 is stored; the token is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = _id()
    artist_id: Mapped[int] = mapped_column(
        ForeignKey("artists.id", ondelete="RESTRICT"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# SQLite reuses the largest rowid after that row is deleted; ids that other records,
# events and REST clients remember must never come back, so every id column is
# AUTOINCREMENT there (PostgreSQL sequences never go back anyway).
for _table in Base.metadata.tables.values():
    if "id" in _table.c and _table.c.id.primary_key:
        _table.dialect_options["sqlite"]["autoincrement"] = True
