"""One publish path: no completion counter on parts, no pm_publish_new, retryable saves

Revision ID: 0003
Revises: 0002

- `parts.publish_seq` goes. A publish's completion number (`publishes.published_seq`) is
  one more than the part's highest, taken at completion under the part's lock, so a
  repeated request can no longer leave a gap that the layers would read as "no publish";
  the new index `ix_publishes_part_completed` makes "the part's newest completion" one
  index seek; `ix_part_pins_publish_id` serves the foreign-key check a new publish makes,
  `ix_publishes_item_usd_path` the check that a file a publish depends on was published.
- PostgreSQL's `pm_publish_new` function goes: every publish takes the one path.
- `scenes.request_id`: a retried save returns its first record.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS pm_publish_new")
    with op.batch_alter_table("parts") as batch:
        batch.drop_column("publish_seq")
    _restore_part_names_index()
    op.create_index("ix_publishes_part_completed", "publishes", ["part_id", "published_seq"])
    op.create_index("ix_part_pins_publish_id", "part_pins", ["publish_id"])
    op.create_index("ix_publishes_item_usd_path", "publishes", ["item_usd_path"])
    with op.batch_alter_table("scenes") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))
    op.create_index("uq_scenes_request_id", "scenes", ["request_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_scenes_request_id", table_name="scenes")
    with op.batch_alter_table("scenes") as batch:
        batch.drop_column("request_id")
    op.drop_index("ix_publishes_item_usd_path", table_name="publishes")
    op.drop_index("ix_part_pins_publish_id", table_name="part_pins")
    op.drop_index("ix_publishes_part_completed", table_name="publishes")
    with op.batch_alter_table("parts") as batch:
        batch.add_column(sa.Column("publish_seq", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE parts SET publish_seq = COALESCE((SELECT MAX(published_seq) FROM publishes "
        "WHERE publishes.part_id = parts.id), 0)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function_0002())


def _restore_part_names_index() -> None:
    """SQLite rebuilds `parts` for a changed column and loses its expression index (the
    case-insensitive part names); PostgreSQL keeps it."""
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(
            "uq_parts_name_ci",
            "parts",
            ["stream_id", sa.text("lower(asset_name)"), sa.text("lower(name)")],
            unique=True,
        )


def _function_0002() -> str:
    """The function revision 0002 created (its module's FUNCTION)."""
    path = Path(__file__).with_name("0002_publish_function.py")
    spec = importlib.util.spec_from_file_location("pm_migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FUNCTION)
