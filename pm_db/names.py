"""Rules for every name that ends up in a path or a lookup. Documented in docs/templates.md.

A name is trimmed of surrounding white space, then must be 1 to 64 characters of ASCII
letters, digits, `_` and `-`, starting with a letter or digit: no path separator, no dot
(so no `..`), no space. Steps and software are lower-cased; logins are lower-cased and may
also hold single dots (`j.doe`). Case is kept otherwise, but uniqueness ignores it, because
Windows and macOS file systems do. Projects have Windows roots, so a name Windows reserves
for a device (`CON`, `aux`, `NUL`, `COM1`, `LPT9`..., whatever follows a dot) is refused.
"""

from __future__ import annotations

import re

from pm_db.errors import ValidationError

MAX_NAME = 64
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*")
_LOGIN = re.compile(r"[a-z0-9](?:[a-z0-9_\-]|\.(?!\.))*")
WINDOWS_DEVICES = frozenset(
    ["con", "prn", "aux", "nul", "conin$", "conout$"]
    + [f"{port}{n}" for port in ("com", "lpt") for n in "0123456789\u00b9\u00b2\u00b3"]
)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"must be text, got {type(value).__name__}", field=field)
    value = value.strip()
    if not value:
        raise ValidationError("must not be empty", field=field)
    if len(value) > MAX_NAME:
        raise ValidationError(f"must be at most {MAX_NAME} characters", field=field)
    if value.split(".", 1)[0].rstrip(" ").lower() in WINDOWS_DEVICES:
        raise ValidationError(
            f"{value!r} is a device name on Windows, where projects have roots too", field=field
        )
    return value


def check_name(value: object, field: str) -> str:
    """The trimmed name; raises ValidationError naming `field` if it breaks the rules."""
    name = _text(value, field)
    if "/" in name or "\\" in name:
        raise ValidationError(f"must not contain a path separator: {name!r}", field=field)
    if ".." in name:
        raise ValidationError(f"must not contain '..': {name!r}", field=field)
    if not _NAME.fullmatch(name):
        raise ValidationError(
            f"may hold only letters, digits, '_' and '-', starting with a letter or digit: "
            f"{name!r}",
            field=field,
        )
    return name


def check_lower_name(value: object, field: str) -> str:
    """Like check_name, lower-cased (steps, software)."""
    return check_name(value, field).lower()


def check_login(value: object, field: str = "login") -> str:
    """An artist login, lower-cased; letters, digits, '_', '-' and single dots."""
    login = _text(value, field).lower()
    if "/" in login or "\\" in login:
        raise ValidationError(f"must not contain a path separator: {login!r}", field=field)
    if not _LOGIN.fullmatch(login) or login.endswith("."):
        raise ValidationError(
            f"may hold only letters, digits, '_', '-' and single inner dots: {login!r}",
            field=field,
        )
    return login
