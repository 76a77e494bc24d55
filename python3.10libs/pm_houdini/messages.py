"""Telling the artist: message boxes when Houdini has a UI, log lines otherwise.

`hou.ui` exists only in a graphical session (not in hython), so every dialog is guarded
by `hou.isUIAvailable()`. Everything is logged as well, so a farm log or the Houdini
console keeps the record either way.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import hou

from pm_db.errors import PmError
from pm_houdini.errors import Interrupted, describe

log = logging.getLogger("pm_houdini")

TITLE = "pm"


def has_ui() -> bool:
    """True in an interactive Houdini, False in hython and batch sessions."""
    return hou.isUIAvailable()


def info(text: str, details: str | None = None) -> None:
    """Tell the artist something worth a dialog (a publish finished)."""
    log.info(text)
    if has_ui():
        hou.ui.displayMessage(text, title=TITLE, details=details)


def status(text: str) -> None:
    """A line in Houdini's status bar (a save finished), or the log headless."""
    log.info(text)
    if has_ui():
        hou.ui.setStatusMessage(text)


def error(action: str, exc: BaseException) -> None:
    """Report a failed action: an error box in the UI, an error log line always.

    pm's own errors name the field and need no traceback; anything else is a bug or an
    environment problem, so its traceback goes into the box's details and the log."""
    text = describe(exc)
    expected = isinstance(exc, PmError | hou.Error)
    if expected:
        log.error("%s failed: %s", action, text)
    else:
        log.exception("%s failed: %s", action, text)
    if not has_ui():
        return
    details = None if expected else "".join(traceback.format_exception(exc))
    severity = hou.severityType.Warning if isinstance(exc, Interrupted) else hou.severityType.Error
    hou.ui.displayMessage(
        f"{action} failed.\n\n{text}", severity=severity, title=TITLE, details=details
    )


def confirm(text: str, proceed: str, title: str = TITLE) -> bool:
    """Ask the artist to go ahead; True headless (there is nobody to ask)."""
    if not has_ui():
        return True
    choice = hou.ui.displayMessage(
        text,
        buttons=(proceed, "Cancel"),
        severity=hou.severityType.Message,
        default_choice=0,
        close_choice=1,
        title=title,
    )
    return choice == 0


def ask_text(text: str, initial: str, title: str, proceed: str) -> str | None:
    """A line of text from the artist, or None if they cancel (always None headless)."""
    if not has_ui():
        return None
    choice, value = hou.ui.readInput(
        text,
        buttons=(proceed, "Cancel"),
        default_choice=0,
        close_choice=1,
        title=title,
        initial_contents=initial,
    )
    return value.strip() if choice == 0 else None


@contextmanager
def reporting(action: str) -> Iterator[None]:
    """Run a shelf or button action: any failure is reported, never raised into Houdini."""
    try:
        yield
    except Exception as exc:
        error(action, exc)
