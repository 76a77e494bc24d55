"""Load pm's database stack in the background once Houdini's UI is ready.

Importing SQLAlchemy, pydantic, the database driver and pm's services takes about 0.4 s.
Nothing at Houdini's start-up pays it (no pythonrc.py); without this, the first pm tool of
a session would: the asset browser would paint its rows 0.4 s late, the first Save would
take 0.4 s longer. `uiready.py` (run by Houdini in interactive sessions only, after the UI
is up) calls `start`, which does the imports on a daemon thread: the UI thread only starts
the thread. `PM_PRELOAD=0` switches it off. A failure here is only logged: the tool that
needs the stack will import it again and report the error where the artist sees it.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

MODULES = (
    "pm_db.schemas",
    "pm_db.services.browse",
    "pm_db.services.scenes",
    "pm_db.services.publishes",
    "pm_db.services.publish_reads",
    "pm_db.publishing",
)


def start() -> threading.Thread | None:
    """Start the background imports; None when PM_PRELOAD is 0."""
    if os.environ.get("PM_PRELOAD", "1").strip() == "0":
        return None
    thread = threading.Thread(target=load, name="pm-preload", daemon=True)
    thread.start()
    return thread


def load() -> None:
    """Import the modules pm's tools need first, and the backend the settings select
    (with its database driver); connect to nothing."""
    import importlib

    try:
        from pm_db.backend import get_backend

        get_backend()
        for name in MODULES:
            importlib.import_module(name)
    except Exception:  # a broken setting must not disturb Houdini's start; see the docstring
        log.warning("pm could not preload its database stack", exc_info=True)
