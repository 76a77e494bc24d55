"""Houdini imports pm_db at start-up: the package and its configuration must not pull in
SQLAlchemy, pydantic or alembic (checked in a fresh interpreter, never by timing)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "pydantic", "alembic", "psycopg", "psycopg2", "pxr")


def modules_after(statement: str) -> set[str]:
    """The top-level module names loaded by a fresh interpreter after `statement`."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in json.loads(done.stdout)}


@pytest.mark.parametrize(
    "statement",
    [
        "import pm_db",
        "import pm_db.config",
        "from pm_db.config import load_settings; load_settings()",
        "import pm_db.errors",
        "import pm_db.names",
    ],
)
def test_light_modules_import_nothing_heavy(statement: str) -> None:
    loaded = modules_after(statement)
    assert "pm_db" in loaded
    assert sorted(loaded & set(HEAVY)) == []


def test_the_check_sees_heavy_imports() -> None:
    assert {"sqlalchemy", "pydantic"} <= modules_after("import pm_db.services.entities")
