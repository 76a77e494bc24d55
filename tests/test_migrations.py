"""Migrations are the only way the schema is made: they agree with the models, go down and
up again, run safely side by side, and refuse to leave a broken schema behind."""

from __future__ import annotations

import itertools
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pm_db import migrate
from pm_db.db import Database
from pm_db.errors import Conflict, Unavailable, ValidationError
from pm_db.models import Base
from pm_db.services import entities
from tests.conftest import pg_admin

REPO = Path(__file__).resolve().parent.parent
# Expression indexes cannot be reflected or compared: alembic and SQLAlchemy say so, and
# test_indexes_alembic_cannot_compare_exist checks them instead.
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based"),
]
_numbers = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no schema at all: a new SQLite file, or a new PostgreSQL database
    on the test server (which must be there in CI, as for every database test)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
        yield database
        database.dispose()
        return
    server: str = request.getfixturevalue("pg_url")
    name = f"{make_url(server).database}_fresh{next(_numbers)}"
    pg_admin(f'CREATE DATABASE "{name}"', server)
    database = Database(make_url(server).set(database=name).render_as_string(False))
    yield database
    database.dispose()
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', server)


def schema_diff(database: Database) -> list[object]:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def pm_tables(database: Database) -> set[str]:
    return set(database.check()) - {"alembic_version"}


def expression_indexes() -> set[str]:
    return {
        index.name
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if index.name and any(not isinstance(e, sa.Column) for e in index.expressions)
    }


def test_upgrade_makes_exactly_the_models_schema(fresh: Database) -> None:
    assert migrate.current_revision(fresh) is None
    migrate.upgrade(fresh)
    assert migrate.current_revision(fresh) == migrate.head_revision()
    assert pm_tables(fresh) == set(Base.metadata.tables)
    assert schema_diff(fresh) == []


def test_indexes_alembic_cannot_compare_exist(fresh: Database) -> None:
    migrate.upgrade(fresh)
    wanted = {i.name for t in Base.metadata.tables.values() for i in t.indexes}
    assert {"uq_projects_code_ci", "uq_sequences_code_ci", "uq_shots_code_ci"} <= wanted
    assert {"uq_assets_code_ci", "uq_parts_name_ci"} <= expression_indexes()
    with fresh.engine.connect() as conn:
        assert wanted <= migrate.index_names(conn)


def test_case_only_duplicate_codes_are_refused_by_the_database_itself(fresh: Database) -> None:
    migrate.upgrade(fresh)
    with pytest.raises(sa.exc.IntegrityError), fresh.connect(write=True) as conn:
        for code in ("FX3X", "fx3x"):
            conn.execute(
                text(
                    "INSERT INTO projects (code, name, root_linux, templates, created_at) "
                    "VALUES (:code, 'x', '/x', '{}', CURRENT_TIMESTAMP)"
                ),
                {"code": code},
            )
    assert entities.counts(fresh)["project"] == 0


def test_upgrade_downgrade_upgrade(fresh: Database) -> None:
    migrate.upgrade(fresh)
    migrate.downgrade(fresh, "base")
    assert migrate.current_revision(fresh) is None
    assert pm_tables(fresh) == set()
    with fresh.engine.connect() as conn:
        assert not any(name.startswith(("uq_", "ix_")) for name in migrate.index_names(conn))
    migrate.upgrade(fresh)
    assert migrate.current_revision(fresh) == migrate.head_revision()
    assert schema_diff(fresh) == []


def test_upgrade_again_changes_nothing_and_keeps_rows(fresh: Database) -> None:
    migrate.upgrade(fresh)
    entities.create(fresh, "artist", {"login": "jdoe", "name": "Jane Doe"})
    migrate.upgrade(fresh)
    assert [a.login for a in entities.list_(fresh, "artist")] == ["jdoe"]


def test_two_upgrades_at_once_both_succeed(fresh: Database) -> None:
    errors: list[BaseException] = []
    other = Database(fresh.url)

    def run(database: Database) -> None:
        try:
            migrate.upgrade(database)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in (fresh, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.dispose()
    assert errors == []
    assert migrate.current_revision(fresh) == migrate.head_revision()
    assert schema_diff(fresh) == []


def test_a_database_newer_than_this_pm_is_refused(fresh: Database) -> None:
    migrate.upgrade(fresh)
    with fresh.connect(write=True) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(Conflict) as caught:
        migrate.upgrade(fresh)
    assert caught.value.field == "revision" and "f00d" in caught.value.message


def test_an_unknown_target_revision_names_the_field(fresh: Database) -> None:
    migrate.upgrade(fresh)
    with pytest.raises(ValidationError) as caught:
        migrate.downgrade(fresh, "nope")
    assert caught.value.field == "revision"
    assert migrate.current_revision(fresh) == migrate.head_revision()


def test_no_schema_is_reported_with_the_command_that_fixes_it(fresh: Database) -> None:
    with pytest.raises(Unavailable) as caught:
        entities.list_(fresh, "project")
    assert "pm db upgrade" in caught.value.message
    assert caught.value.exit_code == 6


def test_a_table_rebuilding_migration_keeps_child_rows(fresh: Database) -> None:
    """A later migration may rebuild a parent table (SQLite batch mode copies and drops
    it): foreign keys are lifted for the migration, so rows pointing at it survive."""
    migrate.upgrade(fresh)
    project = entities.create(fresh, "project", {"code": "FX3X", "name": "FX", "root_linux": "/s"})
    entities.create(fresh, "sequence", {"project_id": project.id, "code": "SQ010"})
    with migrate.migration_connection(fresh) as conn:
        operations = Operations(MigrationContext.configure(conn, opts={"render_as_batch": True}))
        with operations.batch_alter_table("projects") as batch:
            batch.alter_column("name", existing_type=sa.String(200), nullable=True)
        if fresh.is_sqlite:
            # The rebuilt table lost its expression index; a real migration re-creates it.
            operations.create_index(
                "uq_projects_code_ci", "projects", [sa.literal_column("lower(code)")], unique=True
            )
    migrate.upgrade(fresh)
    assert [s.code for s in entities.list_(fresh, "sequence")] == ["SQ010"]
    with pytest.raises(Conflict):
        entities.delete(fresh, "project", project.id)


def test_a_migration_that_orphans_rows_is_rolled_back(fresh: Database) -> None:
    migrate.upgrade(fresh)
    project = entities.create(fresh, "project", {"code": "FX3X", "name": "FX", "root_linux": "/s"})
    entities.create(fresh, "sequence", {"project_id": project.id, "code": "SQ010"})
    if fresh.is_sqlite:
        with pytest.raises(Conflict) as caught, migrate.migration_connection(fresh) as conn:
            conn.execute(text("DELETE FROM projects"))
        assert "without a parent" in caught.value.message
    else:
        with pytest.raises(sa.exc.IntegrityError), migrate.migration_connection(fresh) as conn:
            conn.execute(text("DELETE FROM projects"))
    assert entities.counts(fresh)["project"] == 1


def test_a_schema_that_lost_an_index_is_refused(fresh: Database) -> None:
    migrate.upgrade(fresh)
    with fresh.connect(write=True) as conn:
        conn.execute(text("DROP INDEX uq_projects_code_ci"))
    with pytest.raises(Conflict) as caught:
        migrate.upgrade(fresh)
    assert "uq_projects_code_ci" in caught.value.message


def test_nothing_in_pm_db_creates_the_schema_outside_migrations() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in sorted((REPO / "pm_db").rglob("*.py"))
        if re.search(r"\bcreate_all\s*\(", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_migration_chains_to_one_head() -> None:
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    heads = script.get_heads()
    assert heads == [migrate.head_revision()]
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(r.down_revision for r in revisions[:-1])


def test_an_upgrade_says_nothing_but_its_errors(fresh: Database) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        migrate.upgrade(fresh)
        migrate.downgrade(fresh, "0002")
        migrate.upgrade(fresh)
    assert [str(w.message) for w in caught] == []
