"""initial schema

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artists",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artists")),
        sa.UniqueConstraint("login", name=op.f("uq_artists_login")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("artist_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_entity", "events", ["entity_type", "entity_id"], unique=False)
    op.create_index(op.f("ix_events_kind"), "events", ["kind"], unique=False)
    op.create_table(
        "projects",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("root_linux", sa.String(length=1024), nullable=True),
        sa.Column("root_windows", sa.String(length=1024), nullable=True),
        sa.Column("root_mac", sa.String(length=1024), nullable=True),
        sa.Column(
            "templates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_projects_code_ci", "projects", [sa.literal_column("lower(code)")], unique=True
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "artist_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_api_tokens_artist_id_artists"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_api_tokens_artist_id"), "api_tokens", ["artist_id"], unique=False)
    op.create_table(
        "assets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("asset_type", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_assets_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_assets_code_ci", "assets", ["project_id", sa.literal_column("lower(code)")], unique=True
    )
    op.create_table(
        "scene_streams",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("folder", sa.String(length=1024), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_scene_streams_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scene_streams")),
        sa.UniqueConstraint("project_id", "key", name=op.f("uq_scene_streams_project_id_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sequences",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_sequences_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequences")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_sequences_code_ci",
        "sequences",
        ["project_id", sa.literal_column("lower(code)")],
        unique=True,
    )
    op.create_table(
        "parts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "stream_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("asset_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("publish_seq", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["scene_streams.id"],
            name=op.f("fk_parts_stream_id_scene_streams"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_parts_asset_name"), "parts", ["asset_name"], unique=False)
    op.create_index(
        "uq_parts_name_ci",
        "parts",
        ["stream_id", sa.literal_column("lower(asset_name)"), sa.literal_column("lower(name)")],
        unique=True,
    )
    op.create_table(
        "shots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "sequence_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("frame_start", sa.Integer(), nullable=False),
        sa.Column("frame_end", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("frame_end >= frame_start", name=op.f("ck_shots_frame_range")),
        sa.ForeignKeyConstraint(
            ["sequence_id"],
            ["sequences.id"],
            name=op.f("fk_shots_sequence_id_sequences"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shots")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "uq_shots_code_ci", "shots", ["sequence_id", sa.literal_column("lower(code)")], unique=True
    )
    op.create_table(
        "tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("shot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("asset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("artist_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(shot_id IS NULL) <> (asset_id IS NULL)", name=op.f("ck_tasks_one_target")
        ),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_tasks_artist_id_artists"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_tasks_asset_id_assets"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_tasks_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shot_id"], ["shots.id"], name=op.f("fk_tasks_shot_id_shots"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_tasks_artist_id"), "tasks", ["artist_id"], unique=False)
    op.create_index(op.f("ix_tasks_project_id"), "tasks", ["project_id"], unique=False)
    op.create_index(
        "uq_tasks_asset_step_name",
        "tasks",
        ["asset_id", "step", "name"],
        unique=True,
        sqlite_where=sa.text("asset_id IS NOT NULL"),
        postgresql_where=sa.text("asset_id IS NOT NULL"),
    )
    op.create_index(
        "uq_tasks_shot_step_name",
        "tasks",
        ["shot_id", "step", "name"],
        unique=True,
        sqlite_where=sa.text("shot_id IS NOT NULL"),
        postgresql_where=sa.text("shot_id IS NOT NULL"),
    )
    op.create_table(
        "scenes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "stream_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "artist_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("software", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("software_version", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("version >= 1 AND iteration >= 1", name=op.f("ck_scenes_numbers")),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_scenes_artist_id_artists"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["scene_streams.id"],
            name=op.f("fk_scenes_stream_id_scene_streams"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_scenes_task_id_tasks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenes")),
        sa.UniqueConstraint(
            "stream_id", "version", "iteration", name=op.f("uq_scenes_stream_id_version_iteration")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_scenes_artist_id"), "scenes", ["artist_id"], unique=False)
    op.create_index(op.f("ix_scenes_task_id"), "scenes", ["task_id"], unique=False)
    op.create_table(
        "publishes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("publish_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("part_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scene_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column(
            "target_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("software", sa.String(length=64), nullable=False),
        sa.Column("asset_name", sa.String(length=64), nullable=False),
        sa.Column("part_name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("item_usd_path", sa.String(length=1024), nullable=False),
        sa.Column("part_usd_path", sa.String(length=1024), nullable=False),
        sa.Column("asset_usd_path", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("published_seq", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'published', 'failed', 'deprecated')",
            name=op.f("ck_publishes_status"),
        ),
        sa.CheckConstraint("version >= 1 AND iteration >= 1", name=op.f("ck_publishes_numbers")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["artists.id"],
            name=op.f("fk_publishes_created_by_artists"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_publishes_part_id_parts"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["scene_id"],
            ["scenes.id"],
            name=op.f("fk_publishes_scene_id_scenes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_publishes_task_id_tasks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishes")),
        sa.UniqueConstraint(
            "part_id", "version", "iteration", name=op.f("uq_publishes_part_id_version_iteration")
        ),
        sa.UniqueConstraint("publish_id", name=op.f("uq_publishes_publish_id")),
        sa.UniqueConstraint("request_id", name=op.f("uq_publishes_request_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_publishes_asset_latest", "publishes", ["asset_name", "is_latest"], unique=False
    )
    op.create_index(op.f("ix_publishes_scene_id"), "publishes", ["scene_id"], unique=False)
    op.create_index(op.f("ix_publishes_status"), "publishes", ["status"], unique=False)
    op.create_index(op.f("ix_publishes_task_id"), "publishes", ["task_id"], unique=False)
    op.create_index(
        "uq_publishes_latest_part",
        "publishes",
        ["part_id"],
        unique=True,
        sqlite_where=sa.text("is_latest"),
        postgresql_where=sa.text("is_latest"),
    )
    op.create_table(
        "part_pins",
        sa.Column("part_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "publish_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("pinned_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["part_id"], ["parts.id"], name=op.f("fk_part_pins_part_id_parts"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["pinned_by"],
            ["artists.id"],
            name=op.f("fk_part_pins_pinned_by_artists"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["publish_id"],
            ["publishes.id"],
            name=op.f("fk_part_pins_publish_id_publishes"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("part_id", name=op.f("pk_part_pins")),
    )


def downgrade() -> None:
    op.drop_table("part_pins")
    op.drop_index(
        "uq_publishes_latest_part",
        table_name="publishes",
        sqlite_where=sa.text("is_latest"),
        postgresql_where=sa.text("is_latest"),
    )
    op.drop_index(op.f("ix_publishes_task_id"), table_name="publishes")
    op.drop_index(op.f("ix_publishes_status"), table_name="publishes")
    op.drop_index(op.f("ix_publishes_scene_id"), table_name="publishes")
    op.drop_index("ix_publishes_asset_latest", table_name="publishes")
    op.drop_table("publishes")
    op.drop_index(op.f("ix_scenes_task_id"), table_name="scenes")
    op.drop_index(op.f("ix_scenes_artist_id"), table_name="scenes")
    op.drop_table("scenes")
    op.drop_index(
        "uq_tasks_shot_step_name",
        table_name="tasks",
        sqlite_where=sa.text("shot_id IS NOT NULL"),
        postgresql_where=sa.text("shot_id IS NOT NULL"),
    )
    op.drop_index(
        "uq_tasks_asset_step_name",
        table_name="tasks",
        sqlite_where=sa.text("asset_id IS NOT NULL"),
        postgresql_where=sa.text("asset_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_tasks_project_id"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_artist_id"), table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("uq_shots_code_ci", table_name="shots")
    op.drop_table("shots")
    op.drop_index("uq_parts_name_ci", table_name="parts")
    op.drop_index(op.f("ix_parts_asset_name"), table_name="parts")
    op.drop_table("parts")
    op.drop_index("uq_sequences_code_ci", table_name="sequences")
    op.drop_table("sequences")
    op.drop_table("scene_streams")
    op.drop_index("uq_assets_code_ci", table_name="assets")
    op.drop_table("assets")
    op.drop_index(op.f("ix_api_tokens_artist_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("settings")
    op.drop_index("uq_projects_code_ci", table_name="projects")
    op.drop_table("projects")
    op.drop_index(op.f("ix_events_kind"), table_name="events")
    op.drop_index("ix_events_entity", table_name="events")
    op.drop_table("events")
    op.drop_table("artists")
