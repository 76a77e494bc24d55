"""The one error family of pm. Every front end maps these to its own form.

CLI: one line on stderr and an exit code; REST: an HTTP status and the error envelope;
Houdini: a message box (or a log line headless).
"""

from __future__ import annotations


class PmError(Exception):
    """Base of every error pm raises on purpose."""

    code = "error"
    exit_code = 1
    http_status = 500

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        if self.field:
            return f"{self.field}: {self.message}"
        return self.message

    def as_dict(self) -> dict[str, str | None]:
        """The error as the envelope's `error` object."""
        return {"code": self.code, "message": self.message, "field": self.field}


class ValidationError(PmError):
    """Input is malformed or breaks a rule; the message names the field."""

    code = "validation_error"
    exit_code = 2
    http_status = 422


class NotFound(PmError):
    """A referenced record does not exist."""

    code = "not_found"
    exit_code = 3
    http_status = 404


class Conflict(PmError):
    """The request collides with what the database already holds."""

    code = "conflict"
    exit_code = 4
    http_status = 409


class PermissionDenied(PmError):
    """The caller may not do this (wrong token, production database, read-only file)."""

    code = "permission_denied"
    exit_code = 5
    http_status = 403


class Unauthenticated(PmError):
    """No credentials, or credentials that match nobody."""

    code = "unauthenticated"
    exit_code = 5
    http_status = 401


class Unavailable(PmError):
    """The database or the REST service cannot be reached."""

    code = "unavailable"
    exit_code = 6
    http_status = 503


class ConfigError(PmError):
    """The configuration is missing or unsafe."""

    code = "config_error"
    exit_code = 7
    http_status = 500


ERRORS_BY_CODE: dict[str, type[PmError]] = {
    cls.code: cls
    for cls in (
        PmError,
        ValidationError,
        NotFound,
        Conflict,
        PermissionDenied,
        Unauthenticated,
        Unavailable,
        ConfigError,
    )
}


class FormatError(ValidationError):
    """A template could not be filled: a field is missing or breaks its rule."""


class ParseError(ValidationError):
    """A path does not match a template."""
