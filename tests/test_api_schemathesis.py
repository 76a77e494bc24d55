"""Schemathesis against the served OpenAPI document, on SQLite and PostgreSQL, with every
check it has: generated requests (valid and not) to every operation, with an admin token,
an artist's token and no token; then stateful runs that follow the document's links
(create, then retrieve, change, delete what was created). A bounded number of examples
keeps the run short; the generated data lands in the test's own database.

One expectation differs from schemathesis' default: a request the document allows may get
a 422. The document says every field's type, range, pattern and nullability exactly as the
service checks them (tests/test_api_docs.py compares the patterns with the validators), but
some rules are between fields or against stored data (a publish's paths must be its
project's template paths for its task; frame_end not before frame_start; a project keeps a
root), which no JSON schema can say."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from pm_db.api.app import create_app
from pm_db.db import Database
from tests.test_api_support import auth, live_server, token_for

EXAMPLES_PER_OPERATION = 4
STATEFUL_STEPS = 8
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422"]
            }
        }
    }
)


@pytest.fixture
def served(studio: Any) -> Iterator[str]:
    """A real service over the studio's data; its base URL."""
    with live_server(studio.db) as url:
        yield url


@pytest.fixture
def callers(db: Database) -> list[dict[str, str]]:
    """Headers of an admin, of the studio's artist, and of nobody."""
    return [
        auth(token_for(db, "pipeline", admin=True)),
        auth(token_for(db, "jdoe")),
        {},
    ]


# The document does not depend on the data: read it once, from an app over a database
# never opened.
schema = schemathesis.openapi.from_dict(
    create_app(Database(f"sqlite:///{tempfile.mkdtemp()}/openapi.sqlite")).openapi(),
    config=CONFIG,
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_check_passes_for_every_operation(
    case: Any, served: str, callers: list[dict[str, str]]
) -> None:
    for headers in callers:
        # Checks that send requests of their own (ignored_auth, unsupported_method...)
        # send them to the same server.
        response = case.call(base_url=served, headers=headers)
        case.validate_response(response, headers=headers, transport_kwargs={"base_url": served})
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("ok"), bool), response.text
        if not body["ok"]:
            assert set(body["error"]) == {"code", "message", "field"}


def test_stateful_runs_follow_the_documents_links(served: str, db: Database) -> None:
    """Sequences of calls the document links (a created record's id into its retrieve,
    PUT, PATCH and DELETE), every check on every answer, as the admin."""
    machine = schema.as_state_machine()
    headers = auth(token_for(db, "pipeline", admin=True))

    class Run(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": served, "headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, headers=headers, transport_kwargs={"base_url": served})

    Run.run(
        settings=settings(
            max_examples=STATEFUL_STEPS,
            stateful_step_count=4,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
