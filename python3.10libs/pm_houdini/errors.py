"""The errors pm_houdini adds to pm's family, and how Houdini's own errors are told.

Everything a tool raises on purpose is a pm_db.errors.PmError, so the shelf shows it in
a message box, the batch prints it and exits with its code, and both name the field.
"""

from __future__ import annotations

import hou

from pm_db.errors import PmError


class WriteFailed(PmError):
    """Houdini could not write a file: the hip file, or the data layer a ROP renders."""

    code = "write_failed"
    exit_code = 8
    http_status = 500


class Interrupted(PmError):
    """The artist pressed Esc (or the farm stopped the job) while pm was working."""

    code = "interrupted"
    exit_code = 130
    http_status = 500


def describe(exc: BaseException) -> str:
    """One line saying what went wrong, for a message box or a log line."""
    if isinstance(exc, PmError):
        return str(exc)
    if isinstance(exc, hou.Error):
        message = exc.instanceMessage().strip() or exc.description()
        return " ".join(message.split())
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"{type(exc).__name__}: {exc}"
