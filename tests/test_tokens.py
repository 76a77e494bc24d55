"""REST tokens: shown once, stored as SHA-256 only, verified, revoked, listed; and the
`pm token` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pm_db.cli import main
from pm_db.db import Database
from pm_db.errors import NotFound, Unauthenticated, ValidationError
from pm_db.models import ApiToken, Event
from pm_db.services import entities, tokens
from tests.helpers import cli_document, row_counts


@pytest.fixture
def jdoe(db: Database) -> Any:
    return entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})


def test_the_secret_is_shown_once_and_stored_only_as_its_hash(db: Database, jdoe: Any) -> None:
    made = tokens.create_token(db, "JDoe", label="workstation")
    assert made.token.startswith("pm_") and len(made.token) > 40
    assert (made.artist, made.label, made.is_admin, made.revoked) == (
        "jdoe",
        "workstation",
        False,
        False,
    )

    def stored(session: Any) -> list[tuple[str, ...]]:
        rows = session.execute(select(ApiToken)).scalars()
        events = session.execute(select(Event)).scalars()
        return [tuple(str(v) for v in vars(r).values()) for r in [*rows, *events]]

    everything = " ".join(" ".join(row) for row in db.read(stored))
    assert made.token not in everything
    assert hashlib.sha256(made.token.encode()).hexdigest() in everything
    listed = tokens.list_tokens(db)
    assert [t.id for t in listed] == [made.id]
    assert "token" not in listed[0].model_dump()


def test_verify_gives_the_caller(db: Database, jdoe: Any) -> None:
    made = tokens.create_token(db, "jdoe", is_admin=True, label="pipeline")
    caller = tokens.verify_token(db, made.token)
    assert (caller.login, caller.artist_id, caller.is_admin, caller.label) == (
        "jdoe",
        jdoe.id,
        True,
        "pipeline",
    )
    assert tokens.list_tokens(db)[0].last_used_at is not None


@pytest.mark.parametrize("secret", ["", "pm_", "pm_unknown", "not-pm", "pm_" + "a" * 200])
def test_unknown_tokens_are_refused(db: Database, jdoe: Any, secret: str) -> None:
    tokens.create_token(db, "jdoe")
    with pytest.raises(Unauthenticated) as refused:
        tokens.verify_token(db, secret)
    assert refused.value.field == "Authorization"


def test_revoked_tokens_and_inactive_artists_are_refused(db: Database, jdoe: Any) -> None:
    first = tokens.create_token(db, "jdoe")
    second = tokens.create_token(db, "jdoe")
    revoked = tokens.revoke_token(db, first.id)
    assert revoked.revoked is True
    assert tokens.revoke_token(db, first.id).revoked is True
    with pytest.raises(Unauthenticated):
        tokens.verify_token(db, first.token)
    assert tokens.verify_token(db, second.token).login == "jdoe"
    assert tokens.has_active_token(db)
    entities.update(db, "artist", jdoe.id, {"active": False})
    with pytest.raises(Unauthenticated):
        tokens.verify_token(db, second.token)
    assert not tokens.has_active_token(db)


def test_bad_requests_change_nothing(db: Database, jdoe: Any) -> None:
    before = row_counts(db)
    with pytest.raises(NotFound) as unknown:
        tokens.create_token(db, "nobody")
    assert unknown.value.field == "artist"
    with pytest.raises(ValidationError) as label:
        tokens.create_token(db, "jdoe", label="x" * 201)
    assert label.value.field == "label"
    with pytest.raises(NotFound):
        tokens.revoke_token(db, 4242)
    assert row_counts(db) == before


def test_list_by_artist(db: Database, jdoe: Any) -> None:
    entities.create(db, "artist", {"login": "bob", "name": "Bob"})
    tokens.create_token(db, "jdoe")
    bobs = tokens.create_token(db, "bob", label="farm")
    assert [t.id for t in tokens.list_tokens(db, "BOB")] == [bobs.id]
    assert len(tokens.list_tokens(db)) == 2


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, cli_document(out) if out.strip() else None, err


def test_token_commands(db: Database, jdoe: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, made, _ = run(capsys, "token", "create", "--artist", "jdoe", "--admin", "--label", "ci")
    assert code == 0 and made["is_admin"] is True and made["token"].startswith("pm_")
    assert tokens.verify_token(db, made["token"]).is_admin
    code, listed, _ = run(capsys, "token", "list")
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    code, revoked, _ = run(capsys, "token", "revoke", str(made["id"]))
    assert code == 0 and revoked["revoked"] is True
    code, envelope, err = run(capsys, "token", "create", "--artist", "ghost")
    assert code == 3 and envelope["error"]["field"] == "artist" and "ghost" in err


def test_token_written_to_a_private_file(
    db: Database, jdoe: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "pm-token"
    code, made, _ = run(capsys, "token", "create", "--artist", "jdoe", "--write-to", str(target))
    assert code == 0 and "token" not in made and made["token_file"] == str(target)
    secret = target.read_text().strip()
    assert tokens.verify_token(db, secret).login == "jdoe"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    code, refused, _ = run(capsys, "token", "create", "--artist", "jdoe", "--write-to", str(target))
    assert code == 2 and refused["error"]["field"] == "--write-to"
    assert target.read_text().strip() == secret
    assert len(tokens.list_tokens(db)) == 1
