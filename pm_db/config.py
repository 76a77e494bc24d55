"""The one reader of pm's configuration: environment variables, nothing else.

Precedence for the database: `PM_DB_URL` wins; otherwise `PM_DB_NAME` (with `PM_DB_USER`,
`PM_DB_PASSWORD` or `PM_DB_PASSWORD_FILE`, `PM_DB_HOST`, `PM_DB_PORT`) selects PostgreSQL;
otherwise SQLite at `$PM_HOME/pm.sqlite`. Secrets may come from `*_FILE` variables that
name a file outside the repository; they are never logged (see `mask_url`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from pm_db.errors import ConfigError

PLATFORMS = ("linux", "windows", "mac")


def current_platform() -> str:
    """The platform name pm uses for project roots: linux, windows or mac."""
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "mac"
    return "linux"


@dataclass(frozen=True)
class Settings:
    """pm's configuration, read once from the environment."""

    db_url: str
    home: Path
    platform: str
    production: bool
    api_url: str | None
    api_token: str | None

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def masked_db_url(self) -> str:
        return mask_url(self.db_url)


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret from `NAME`, or from the file named by `NAME_FILE`."""
    value = env.get(name)
    if value:
        return value
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", field=f"{name}_FILE") from exc


def _postgres_url(env: Mapping[str, str]) -> str:
    user = env.get("PM_DB_USER", "")
    password = _secret(env, "PM_DB_PASSWORD") or ""
    host = env.get("PM_DB_HOST", "127.0.0.1")
    port = env.get("PM_DB_PORT", "5432")
    if not port.isdigit():
        raise ConfigError(f"must be a port number, got {port!r}", field="PM_DB_PORT")
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    if auth:
        auth += "@"
    return f"postgresql+psycopg2://{auth}{host}:{port}/{quote(env['PM_DB_NAME'], safe='')}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (default: the process environment); raises ConfigError."""
    env = os.environ if env is None else env
    home = Path(env.get("PM_HOME") or Path.home() / ".pm").expanduser()
    production = env.get("PM_ENV", "").lower() == "production"
    platform = env.get("PM_PLATFORM") or current_platform()
    if platform not in PLATFORMS:
        raise ConfigError(f"must be one of {', '.join(PLATFORMS)}", field="PM_PLATFORM")
    url = _secret(env, "PM_DB_URL")
    if not url and env.get("PM_DB_NAME"):
        url = _postgres_url(env)
    if not url:
        if production:
            raise ConfigError(
                "a production configuration needs PM_DB_URL or PM_DB_NAME, not the default",
                field="PM_DB_URL",
            )
        url = f"sqlite:///{(home / 'pm.sqlite').as_posix()}"
    return Settings(
        db_url=url,
        home=home,
        platform=platform,
        production=production,
        api_url=env.get("PM_API_URL") or None,
        api_token=_secret(env, "PM_API_TOKEN"),
    )


_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z0-9+.\-]+://[^:/@]*:)(?P<password>[^@]*)@")


def mask_url(url: str) -> str:
    """`url` with any password replaced by ***, safe to print or log."""
    return _PASSWORD_IN_URL.sub(lambda m: m.group("head") + "***@", url)
