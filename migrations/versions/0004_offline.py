"""Offline checkouts: leases on scene streams

Revision ID: 0004
Revises: 0003

- `leases`: a task checked out to a machine (`pm offline checkout`), with the project's
  templates of that moment, and when and by whom it was broken or released.
- `lease_streams`: the scene streams a lease covers, with their state at checkout and when
  their offline records were checked in. The partial unique index on held streams makes
  two held leases on one stream impossible and is the one seek every save and publish
  makes to see whether its stream is checked out; the whole index on `stream_id` serves
  the foreign-key check SQLite makes when a save changes its stream's counter.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("lease_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", ID, nullable=False),
        sa.Column("artist_id", ID, nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("templates", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("broken_at", sa.DateTime(), nullable=True),
        sa.Column("broken_by", sa.String(length=255), nullable=True),
        sa.Column("broken_reason", sa.Text(), nullable=True),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_leases_artist_id_artists"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_leases_task_id_tasks"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leases")),
        sa.UniqueConstraint("lease_id", name=op.f("uq_leases_lease_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_leases_task_id"), "leases", ["task_id"], unique=False)
    op.create_table(
        "lease_streams",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("lease_id", ID, nullable=False),
        sa.Column("stream_key", sa.String(length=1024), nullable=False),
        sa.Column("stream_id", ID, nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("state", JSON, nullable=True),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lease_id"],
            ["leases.id"],
            name=op.f("fk_lease_streams_lease_id_leases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["scene_streams.id"],
            name=op.f("fk_lease_streams_stream_id_scene_streams"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lease_streams")),
        sa.UniqueConstraint(
            "lease_id", "stream_key", name=op.f("uq_lease_streams_lease_id_stream_key")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_lease_streams_stream_id"), "lease_streams", ["stream_id"], unique=False
    )
    op.create_index(
        "uq_lease_streams_held_stream",
        "lease_streams",
        ["stream_id"],
        unique=True,
        sqlite_where=sa.text("held"),
        postgresql_where=sa.text("held"),
    )


def downgrade() -> None:
    op.drop_index("uq_lease_streams_held_stream", table_name="lease_streams")
    op.drop_index(op.f("ix_lease_streams_stream_id"), table_name="lease_streams")
    op.drop_table("lease_streams")
    op.drop_index(op.f("ix_leases_task_id"), table_name="leases")
    op.drop_table("leases")
