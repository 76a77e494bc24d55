"""Schemathesis against the served OpenAPI document, on SQLite and PostgreSQL: generated
requests (valid and not) to every operation, with an admin token, an artist's token and no
token, never get a 500 and always get the envelope. A bounded number of examples per
operation keeps the run short; the generated data lands in the test's own database."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from pm_db.api.app import create_app
from pm_db.db import Database
from tests.test_api_support import auth, token_for

EXAMPLES_PER_OPERATION = 6


@pytest.fixture
def app(studio: Any) -> Any:
    """The service over the studio's data."""
    return create_app(studio.db)


@pytest.fixture
def callers(db: Database) -> list[dict[str, str]]:
    """Headers of an admin, of the studio's artist, and of nobody."""
    return [
        auth(token_for(db, "pipeline", admin=True)),
        auth(token_for(db, "jdoe")),
        {},
    ]


# The document does not depend on the data: read it once, from an app over no database.
schema = schemathesis.openapi.from_dict(create_app(Database("sqlite://")).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_gets_a_server_error(case: Any, app: Any, callers: list[dict[str, str]]) -> None:
    for headers in callers:
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("ok"), bool), response.text
        if not body["ok"]:
            assert set(body["error"]) == {"code", "message", "field"}
