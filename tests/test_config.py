"""Configuration: which database the environment selects, secrets, production safeguards,
and that no password ever reaches a printed text."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from pm_db.config import load_settings, mask_url, redact
from pm_db.db import open_database
from pm_db.errors import ConfigError

PG_ENV = {"PM_DB_NAME": "pm", "PM_DB_USER": "pipeline", "PM_DB_HOST": "db.studio.lan"}


def test_default_is_sqlite_under_pm_home(tmp_path: Path) -> None:
    settings = load_settings({"PM_HOME": str(tmp_path / "home")})
    assert settings.db_url == f"sqlite:///{(tmp_path / 'home' / 'pm.sqlite').as_posix()}"
    assert settings.is_sqlite and settings.db_source == "default"
    assert not settings.production


def test_pm_home_defaults_to_dot_pm_in_the_home_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/artist")
    assert load_settings({}).db_url == "sqlite:////home/artist/.pm/pm.sqlite"


def test_a_relative_pm_home_is_made_absolute_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"PM_HOME": "studio-pm"})
    assert settings.home == tmp_path / "studio-pm"
    assert settings.db_url == f"sqlite:///{(tmp_path / 'studio-pm' / 'pm.sqlite').as_posix()}"


def test_pm_db_name_selects_postgresql_with_defaults() -> None:
    settings = load_settings({"PM_DB_NAME": "pm"})
    assert settings.db_url == "postgresql+psycopg2://127.0.0.1:5432/pm"
    assert settings.db_source == "PM_DB_NAME" and not settings.is_sqlite


def test_pm_db_name_uses_user_host_port_and_password() -> None:
    env = {**PG_ENV, "PM_DB_PORT": "6432", "PM_DB_PASSWORD": "s3cret"}
    url = make_url(load_settings(env).db_url)
    assert (url.drivername, url.username, url.password) == (
        "postgresql+psycopg2",
        "pipeline",
        "s3cret",
    )
    assert (url.host, url.port, url.database) == ("db.studio.lan", 6432, "pm")


def test_a_password_with_url_characters_survives_the_round_trip() -> None:
    password = "p@ss:w/rd?#%&="
    url = make_url(load_settings({**PG_ENV, "PM_DB_PASSWORD": password}).db_url)
    assert url.password == password and url.host == "db.studio.lan"


def test_password_file_is_read_and_stripped(tmp_path: Path) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("from-file\n")
    env = {**PG_ENV, "PM_DB_PASSWORD_FILE": str(secret)}
    assert make_url(load_settings(env).db_url).password == "from-file"


def test_password_variable_wins_over_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("from-file")
    env = {**PG_ENV, "PM_DB_PASSWORD": "direct", "PM_DB_PASSWORD_FILE": str(secret)}
    assert make_url(load_settings(env).db_url).password == "direct"


def test_missing_secret_file_names_the_variable_not_the_secret(tmp_path: Path) -> None:
    env = {**PG_ENV, "PM_DB_PASSWORD_FILE": str(tmp_path / "absent")}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.field == "PM_DB_PASSWORD_FILE"
    assert caught.value.exit_code == 7


def test_pm_db_url_wins_over_pm_db_name() -> None:
    env = {**PG_ENV, "PM_DB_URL": "sqlite:////srv/pm/pm.sqlite"}
    settings = load_settings(env)
    assert settings.db_url == "sqlite:////srv/pm/pm.sqlite"
    assert settings.db_source == "PM_DB_URL"


def test_pm_db_url_file_is_read_when_pm_db_url_is_unset(tmp_path: Path) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("postgresql+psycopg2://pm:hidden@db/pm\n")
    settings = load_settings({**PG_ENV, "PM_DB_URL_FILE": str(secret)})
    assert settings.db_url == "postgresql+psycopg2://pm:hidden@db/pm"
    assert settings.db_source == "PM_DB_URL_FILE"
    assert "hidden" not in settings.masked_db_url


def test_pm_db_url_wins_over_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("sqlite:////from/file.sqlite")
    env = {"PM_DB_URL": "sqlite:////direct.sqlite", "PM_DB_URL_FILE": str(secret)}
    assert load_settings(env).db_url == "sqlite:////direct.sqlite"


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-1"])
def test_a_bad_port_names_pm_db_port(port: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**PG_ENV, "PM_DB_PORT": port})
    assert caught.value.field == "PM_DB_PORT"


@pytest.mark.parametrize("host", ["user@db", "db/pm", "db?x=1"])
def test_a_bad_host_names_pm_db_host(host: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**PG_ENV, "PM_DB_HOST": host})
    assert caught.value.field == "PM_DB_HOST"


def test_a_socket_folder_host_goes_to_the_query() -> None:
    url = make_url(load_settings({**PG_ENV, "PM_DB_HOST": "/var/run/postgresql"}).db_url)
    assert url.query["host"] == "/var/run/postgresql" and url.database == "pm"


def test_production_refuses_the_sqlite_default() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PM_ENV": "production", "PM_HOME": "/tmp/pm"})
    assert caught.value.field == "PM_DB_URL"


def test_production_through_the_rest_service_needs_no_database() -> None:
    env = {"PM_ENV": "production", "PM_HOME": "/tmp/pm", "PM_API_URL": "https://pm.studio"}
    settings = load_settings(env)
    assert settings.api_url == "https://pm.studio" and settings.db_source == "default"
    with pytest.raises(ConfigError) as caught:
        open_database(settings)
    assert caught.value.field == "PM_DB_URL"


@pytest.mark.parametrize("extra", [PG_ENV, {"PM_DB_URL": "postgresql+psycopg2://db/pm"}])
def test_production_accepts_a_configured_database(extra: dict[str, str]) -> None:
    settings = load_settings({"PM_ENV": "Production", **extra})
    assert settings.production and not settings.is_sqlite


@pytest.mark.parametrize("stage", ["prod", "producton", "staging"])
def test_an_unknown_environment_is_refused_rather_than_treated_as_development(
    stage: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"PM_ENV": stage})
    assert caught.value.field == "PM_ENV"


def test_development_is_the_default_environment() -> None:
    assert not load_settings({"PM_ENV": "development"}).production
    assert not load_settings({"PM_ENV": ""}).production


def test_platform_is_checked() -> None:
    assert load_settings({"PM_PLATFORM": "windows"}).platform == "windows"
    with pytest.raises(ConfigError) as caught:
        load_settings({"PM_PLATFORM": "amiga"})
    assert caught.value.field == "PM_PLATFORM"


def test_layer_fsync_is_off_unless_set_to_1() -> None:
    assert load_settings({}).layer_fsync is False
    assert load_settings({"PM_LAYER_FSYNC": "0"}).layer_fsync is False
    assert load_settings({"PM_LAYER_FSYNC": " 1 "}).layer_fsync is True
    with pytest.raises(ConfigError) as caught:
        load_settings({"PM_LAYER_FSYNC": "yes"})
    assert caught.value.field == "PM_LAYER_FSYNC"


def test_offline_works_in_the_checkout_and_keeps_the_studio(tmp_path: Path) -> None:
    studio = "postgresql://pm@db:5432/pm"
    online = load_settings({"PM_DB_URL": studio, "PM_OFFLINE": "0"})
    assert (online.db_url, online.studio_db_url, online.offline) == (studio, studio, None)
    env = {"PM_DB_URL": studio, "PM_HOME": str(tmp_path), "PM_API_URL": "http://pm:8000"}
    offline = load_settings({**env, "PM_OFFLINE": "1"})
    checkout = tmp_path / "offline" / "pm.sqlite"
    assert offline.db_url == f"sqlite:///{checkout.as_posix()}"
    assert (offline.db_source, offline.studio_db_url, offline.api_url) == (
        "PM_OFFLINE",
        studio,
        None,
    )
    named = load_settings({**env, "PM_OFFLINE": str(tmp_path / "trip.sqlite")})
    assert named.offline == tmp_path / "trip.sqlite"
    with pytest.raises(ConfigError) as caught:
        load_settings({"PM_OFFLINE": "sqlite:///x.sqlite"})
    assert caught.value.field == "PM_OFFLINE"


def test_api_settings_and_token_file(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("tok-123\n")
    settings = load_settings({"PM_API_URL": "http://pm:8000", "PM_API_TOKEN_FILE": str(token)})
    assert (settings.api_url, settings.api_token) == ("http://pm:8000", "tok-123")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("postgresql+psycopg2://u:p@ss@h:5432/db", "postgresql+psycopg2://u:***@h:5432/db"),
        ("postgresql://u:p/ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////srv/pm.sqlite", "sqlite:////srv/pm.sqlite"),
        (
            "cannot reach postgresql://u:pw@h/db: timeout; mail admin@studio",
            "cannot reach postgresql://u:***@h/db: timeout; mail admin@studio",
        ),
        ("dsn host=h password=s3cret user=u", "dsn host=h password=*** user=u"),
        ("password='a b' host=h", "password=*** host=h"),
    ],
)
def test_mask_url_hides_every_password(text: str, masked: str) -> None:
    assert mask_url(text) == masked


def test_redact_hides_configured_secrets_wherever_they_appear(tmp_path: Path) -> None:
    secret = tmp_path / "db-password"
    secret.write_text("fromfile99")
    env = {
        "PM_DB_PASSWORD_FILE": str(secret),
        "PM_API_TOKEN": "tok-abc",
        "PM_DB_URL": "postgresql://u:url%40pw@h/db",
    }
    text = "fromfile99 then tok-abc then url%40pw and url@pw, in postgresql://x:y@h/db"
    assert redact(text, env) == "*** then *** then *** and ***, in postgresql://x:***@h/db"


def test_redact_ignores_an_unreadable_secret_file(tmp_path: Path) -> None:
    env = {"PM_DB_PASSWORD_FILE": str(tmp_path / "absent")}
    assert redact("nothing secret", env) == "nothing secret"


def test_offline_keeps_the_studio_safeguards_for_checking_in_and_out(tmp_path: Path) -> None:
    """With PM_OFFLINE set, the studio database is still the one the settings choose
    without it: a REST-only production machine has none, and never gets the default."""
    from pm_db.offline import studio_database

    env = {"PM_ENV": "production", "PM_HOME": str(tmp_path), "PM_API_URL": "http://pm:8000"}
    for offline in ("0", "1"):
        with pytest.raises(ConfigError) as caught:
            studio_database(load_settings({**env, "PM_OFFLINE": offline}))
        assert caught.value.field == "PM_DB_URL" and "REST service" in caught.value.message
    studio = load_settings({**env, "PM_OFFLINE": "1"}).studio
    assert studio is not None
    assert (studio.api_url, studio.db_source, studio.offline) == ("http://pm:8000", "default", None)
    assert not (tmp_path / "pm.sqlite").exists()
