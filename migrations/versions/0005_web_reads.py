"""The web view's reads: the parts published on a shot or an asset, a task's history
newest first, by index

Revision ID: 0005
Revises: 0004

- `ix_publishes_target_part` on `(target_type, target_id, part_id)`: the USD assets of a
  shot or an asset (and how many a sequence's shots or a project's assets hold) are read
  by walking it, one seek per part found (pm_db.services.browse), instead of grouping
  every publish of every task there.
- `ix_publishes_task_id_id` and `ix_scenes_task_id_id` on `(task_id, id)` replace the
  indexes on `task_id` alone: a task's newest publishes and saves are the first entries
  of its range (PostgreSQL otherwise walks the primary key from the newest row of the
  whole table, or sorts every row of the task). The same number of indexes to write.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_publishes_target_part", "publishes", ["target_type", "target_id", "part_id"]
    )
    op.create_index("ix_publishes_task_id_id", "publishes", ["task_id", "id"])
    op.drop_index("ix_publishes_task_id", table_name="publishes")
    op.create_index("ix_scenes_task_id_id", "scenes", ["task_id", "id"])
    op.drop_index("ix_scenes_task_id", table_name="scenes")


def downgrade() -> None:
    op.create_index("ix_scenes_task_id", "scenes", ["task_id"])
    op.drop_index("ix_scenes_task_id_id", table_name="scenes")
    op.create_index("ix_publishes_task_id", "publishes", ["task_id"])
    op.drop_index("ix_publishes_task_id_id", table_name="publishes")
    op.drop_index("ix_publishes_target_part", table_name="publishes")
