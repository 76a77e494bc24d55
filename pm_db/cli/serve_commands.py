"""`pm serve` (the REST service) and `pm token create|list|revoke` (its credentials)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

from pm_db.cli.common import database, group, leaf, whole_number
from pm_db.errors import ConfigError, ValidationError

DEFAULT_PORT = 8002
MAX_WORKERS = 4


def register(commands: Any) -> None:
    serve = leaf(commands, "serve", "run the REST service (needs the `serve` extra)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=whole_number, default=DEFAULT_PORT)
    serve.add_argument(
        "--workers",
        type=whole_number,
        help=f"worker processes (default: 1 on SQLite, up to {MAX_WORKERS} on PostgreSQL)",
    )
    serve.add_argument("--no-access-log", action="store_true", help="do not log each request")
    serve.set_defaults(run=_serve)

    token = group(commands, "token", "create, list or revoke REST tokens")
    create = leaf(token, "create", "create a token for an artist; it is shown only once")
    create.add_argument("--artist", required=True, help="artist login")
    create.add_argument("--admin", action="store_true", help="may manage entities, act for all")
    create.add_argument("--label", default="", help="what the token is for, e.g. farm-pool-a")
    create.add_argument(
        "--write-to", metavar="FILE", help="write the token to a new file (mode 600), not stdout"
    )
    create.set_defaults(run=_create_token)
    listing = leaf(token, "list", "list tokens (never their secrets)")
    listing.add_argument("--artist", help="artist login")
    listing.set_defaults(run=_list_tokens)
    revoke = leaf(token, "revoke", "revoke a token for good")
    revoke.add_argument("id", type=whole_number, help="token id (see `pm token list`)")
    revoke.set_defaults(run=_revoke_token)


def _tokens() -> Any:
    from pm_db.services import tokens

    return tokens


def _create_token(args: argparse.Namespace) -> dict[str, Any]:
    target = Path(args.write_to) if args.write_to else None
    if target is not None and target.exists():
        raise ValidationError(f"{target} exists; pm never overwrites a token file", "--write-to")
    if target is not None and not target.parent.is_dir():
        raise ValidationError(f"folder {target.parent} does not exist", "--write-to")
    made = _tokens().create_token(database(), args.artist, args.label, args.admin)
    result: dict[str, Any] = made.model_dump(mode="json", exclude={"token"})
    if target is None:
        result["token"] = made.token
        result["note"] = "shown once: pm keeps only its hash; store it now (PM_API_TOKEN_FILE)"
        return result
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(made.token + "\n")
    except OSError as exc:
        _tokens().revoke_token(database(), made.id)
        raise ValidationError(
            f"cannot write {target}: {exc.strerror}; the token was revoked", "--write-to"
        ) from exc
    result["token_file"] = str(target)
    return result


def _list_tokens(args: argparse.Namespace) -> Any:
    return _tokens().list_tokens(database(), args.artist)


def _revoke_token(args: argparse.Namespace) -> Any:
    return _tokens().revoke_token(database(), args.id)


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_serving(host: str, port: int, production: bool, has_token: bool) -> None:
    """Refuse an unsafe or impossible service configuration; raises ConfigError."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"must be 1 to 65535, got {port}", field="--port")
    if production and not is_loopback(host) and not has_token:
        raise ConfigError(
            f"a production service on {host} needs auth configured: no active token exists; "
            "create one with `pm token create --artist LOGIN` first",
            field="--host",
        )


def _serve(args: argparse.Namespace) -> None:
    try:
        import uvicorn

        from pm_db.api.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"the REST service needs the serve extra ({exc.name} is missing): "
            "pip install 'pm-pipeline[serve]'",
            field="serve",
        ) from None
    from pm_db import migrate
    from pm_db.config import load_settings

    settings = load_settings()
    handle = database()
    current, head = migrate.current_revision(handle), migrate.head_revision()
    if current != head:
        raise ConfigError(
            f"database {handle.masked_url} is at revision {current}, not {head}; "
            "run `pm db upgrade`",
            field="database",
        )
    check_serving(args.host, args.port, settings.production, _tokens().has_active_token(handle))
    workers = args.workers or (1 if handle.is_sqlite else min(MAX_WORKERS, os.cpu_count() or 1))
    if workers < 1:
        raise ConfigError("must be 1 or more", field="--workers")
    if not is_loopback(args.host):
        print(
            f"pm serve: listening on {args.host}, beyond this machine; "
            "put TLS in front (a reverse proxy) so tokens never cross the network in clear",
            file=sys.stderr,
        )
    print(
        f"pm serve: http://{args.host}:{args.port}/api/  database {handle.masked_url}  "
        f"workers {workers}",
        file=sys.stderr,
    )
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": not args.no_access_log,
        "log_level": "info",
    }
    if workers == 1:
        uvicorn.run(create_app(handle), **options)
    else:
        uvicorn.run("pm_db.api.app:create_app", factory=True, workers=workers, **options)
