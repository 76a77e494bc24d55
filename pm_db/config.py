"""The one reader of pm's configuration: environment variables, nothing else.

Precedence for the database: `PM_DB_URL` (or `PM_DB_URL_FILE`) wins; otherwise `PM_DB_NAME`
(with `PM_DB_USER`, `PM_DB_PASSWORD` or `PM_DB_PASSWORD_FILE`, `PM_DB_HOST`, `PM_DB_PORT`)
selects PostgreSQL; otherwise SQLite at `$PM_HOME/pm.sqlite`. `PM_OFFLINE` puts that choice
aside for a checkout's own SQLite file (docs/offline.md): the database chosen without it
stays the studio's, where the checkout goes back. Secrets may come from `*_FILE`
variables that name a file outside the repository; they are never logged or printed (see
`mask_url` and `redact`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from pm_db.errors import ConfigError

PLATFORMS = ("linux", "windows", "mac")
PLATFORM_ALIASES = {"macos": "mac"}
ENVIRONMENTS = ("development", "production")
SECRET_VARIABLES = ("PM_DB_URL", "PM_DB_PASSWORD", "PM_API_TOKEN")


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
    db_source: str = "default"
    """Which variable chose the database: PM_DB_URL, PM_DB_URL_FILE, PM_DB_NAME or default."""
    layer_fsync: bool = False
    """Whether each USD layer pm writes is forced to disk (fsync) before it replaces the
    old one (PM_LAYER_FSYNC)."""
    retry_window: float = 30.0
    """Seconds the remote backend keeps retrying a write that is safe to repeat while the
    service or its database cannot be reached (PM_RETRY_WINDOW)."""
    offline: Path | None = None
    """The checkout's SQLite file every tool saves and publishes into (PM_OFFLINE)."""
    studio: Settings | None = None
    """With PM_OFFLINE, the settings without it: the studio's, where checkouts come from
    and go back to (its database, its REST service, its safeguards). None when these
    settings are the studio's."""

    @property
    def studio_db_url(self) -> str:
        """The studio's database URL (see `studio`)."""
        return (self.studio or self).db_url

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
    host = env.get("PM_DB_HOST") or "127.0.0.1"
    port = env.get("PM_DB_PORT") or "5432"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(f"must be a port number (1-65535), got {port!r}", field="PM_DB_PORT")
    if any(c in host for c in "@?#") or (("/" in host) and not host.startswith("/")):
        raise ConfigError(
            f"must be a host name, an address or a socket folder: {host!r}", "PM_DB_HOST"
        )
    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    if auth:
        auth += "@"
    name = quote(env["PM_DB_NAME"], safe="")
    if host.startswith("/"):
        # A Unix socket folder cannot sit in the URL's host part; libpq takes it as ?host=.
        return f"postgresql+psycopg2://{auth}/{name}?host={quote(host)}&port={port}"
    return f"postgresql+psycopg2://{auth}{host}:{port}/{name}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from `env` (default: the process environment); raises ConfigError."""
    env = os.environ if env is None else env
    # Absolute, so the default database does not move with the current folder.
    home = Path(env.get("PM_HOME") or Path.home() / ".pm").expanduser().absolute()
    stage = (env.get("PM_ENV") or "development").strip().lower()
    if stage not in ENVIRONMENTS:
        # A typo must not silently drop the production safeguards.
        raise ConfigError(f"must be one of {', '.join(ENVIRONMENTS)}, got {stage!r}", "PM_ENV")
    production = stage == "production"
    platform = (env.get("PM_PLATFORM") or current_platform()).strip().lower()
    # One vocabulary: mac, as the project roots (root_mac) say; Houdini's macos is an alias.
    platform = PLATFORM_ALIASES.get(platform, platform)
    if platform not in PLATFORMS:
        raise ConfigError(f"must be one of {', '.join(PLATFORMS)}", field="PM_PLATFORM")
    url = _secret(env, "PM_DB_URL")
    source = "PM_DB_URL" if env.get("PM_DB_URL") else "PM_DB_URL_FILE"
    if url:
        check_db_url(url, source)
    if not url and env.get("PM_DB_NAME"):
        url, source = _postgres_url(env), "PM_DB_NAME"
    api_url = env.get("PM_API_URL") or None
    if not url:
        # A production machine that talks to the REST service holds no database settings;
        # opening the default database there is refused (open_database) instead.
        if production and not api_url:
            raise ConfigError(
                "a production configuration needs PM_DB_URL or PM_DB_NAME (or PM_API_URL), "
                "not the default",
                field="PM_DB_URL",
            )
        url, source = sqlite_url(home / "pm.sqlite"), "default"
    studio = Settings(
        db_url=url,
        home=home,
        platform=platform,
        production=production,
        api_url=api_url,
        api_token=_secret(env, "PM_API_TOKEN"),
        db_source=source,
        layer_fsync=layer_fsync(env),
        retry_window=_retry_window(env),
    )
    offline = _offline(env, home)
    if offline is None:
        return studio
    # Offline, every tool works on the checkout, never through the REST service.
    return dataclasses.replace(
        studio,
        db_url=sqlite_url(offline),
        db_source="PM_OFFLINE",
        api_url=None,
        offline=offline,
        studio=studio,
    )


def checkout_path(home: Path) -> Path:
    """Where `pm offline checkout` puts the checkout's database unless told otherwise."""
    return home / "offline" / "pm.sqlite"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.as_posix()}"


def _offline(env: Mapping[str, str], home: Path) -> Path | None:
    """PM_OFFLINE: unset, empty or 0 works online; 1 works in the checkout at
    `checkout_path`; any other value is the path of the checkout's SQLite file. Raises
    ConfigError for a URL (the checkout is always a local file)."""
    value = (env.get("PM_OFFLINE") or "").strip()
    if value in ("", "0"):
        return None
    if value == "1":
        return checkout_path(home)
    if "://" in value:
        raise ConfigError(
            "must be 1 or the path of the checkout's SQLite file, not a URL", field="PM_OFFLINE"
        )
    return Path(value).expanduser().absolute()


def _retry_window(env: Mapping[str, str]) -> float:
    """PM_RETRY_WINDOW: seconds, 0 to 3600 (0: try once). Raises ConfigError."""
    value = (env.get("PM_RETRY_WINDOW") or "30").strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ConfigError(f"must be seconds from 0 to 3600, got {value!r}", "PM_RETRY_WINDOW")
    return seconds


# The shape SQLAlchemy's URL parser accepts (sqlalchemy.engine.url), read here without
# importing SQLAlchemy: the configuration loads at Houdini's start-up.
_DB_URL = re.compile(
    r"(?P<scheme>[A-Za-z][\w+]*)://"
    r"(?:[^:/]*(?::[^@]*)?@)?"
    r"(?:(?:\[[^/?]+\]|[^/:?]+)?(?::(?P<port>[^/?]*))?)?"
    r"(?:/[^?]*)?(?:\?.*)?",
    re.DOTALL,
)
DB_URL_SHAPE = "dialect://user:password@host:port/name, e.g. postgresql://pm@db:5432/pm"


def check_db_url(url: str, field: str = "PM_DB_URL") -> str:
    """`url` if it parses as a database URL; raises ConfigError naming `field` that shows
    no part of the URL (it cannot be masked when it does not parse)."""
    match = _DB_URL.fullmatch(url.strip())
    if match is None:
        raise ConfigError(f"is not a database URL ({DB_URL_SHAPE})", field=field)
    port = match.group("port")
    if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise ConfigError(
            f"is not a database URL: its port is not a number from 1 to 65535 ({DB_URL_SHAPE})",
            field=field,
        )
    return url


def layer_fsync(env: Mapping[str, str] | None = None) -> bool:
    """PM_LAYER_FSYNC: 1 forces every layer pm writes to disk before it replaces the old
    one; 0 (the default) leaves the flush to the operating system. Read on each write, so
    a long-running process follows its environment. Raises ConfigError."""
    value = ((os.environ if env is None else env).get("PM_LAYER_FSYNC") or "0").strip()
    if value not in ("0", "1"):
        raise ConfigError(f"must be 0 or 1, got {value!r}", field="PM_LAYER_FSYNC")
    return value == "1"


# The password runs to the last '@' of the URL's authority, so an unencoded '@' in it
# (`u:p@ss@host`) is masked whole.
_PASSWORD_IN_URL = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^@]*(?:@[^@\s/]*(?=@))*)@"
)
_PASSWORD_IN_DSN = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<password>'[^']*'|\S+)", re.I)


def mask_url(url: str) -> str:
    """`url` (or any text holding URLs or `password=` pairs) with the passwords replaced by
    ***, safe to print or log."""
    masked = _PASSWORD_IN_URL.sub(lambda m: m.group("head") + "***@", url)
    return _PASSWORD_IN_DSN.sub(lambda m: m.group("head") + "***", masked)


def _configured_secrets(env: Mapping[str, str]) -> list[str]:
    """The secret values the environment holds (files read quietly), longest first."""
    found: list[str] = []
    for name in SECRET_VARIABLES:
        try:
            value = _secret(env, name)
        except ConfigError:
            continue
        if not value:
            continue
        if name == "PM_DB_URL":
            match = _PASSWORD_IN_URL.search(value)
            if not match or not match.group("password"):
                continue
            found.append(match.group("password"))
            value = unquote(match.group("password"))
        found.append(value)
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with URL passwords masked and every configured secret (database password,
    API token) replaced by ***: the last filter before anything is printed or logged."""
    text = mask_url(text)
    for secret in _configured_secrets(os.environ if env is None else env):
        text = text.replace(secret, "***")
    return text
