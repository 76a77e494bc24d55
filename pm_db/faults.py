"""The crash tests' switch: `PM_FAULT=<point>` kills the process with SIGKILL when a
publish or a check-in reaches that point. Read here rather than through pm_db.config: a
test hook, not a setting, and nothing else in pm reads it."""

from __future__ import annotations

import os
import signal

POINTS = ("reserve", "write", "verify", "complete", "part-layer", "asset-layer")
"""Where PM_FAULT may stop a publish: after each step of pm_db.publishing; `part-layer`
and `asset-layer` while that layer's new bytes sit beside it, not yet renamed into place."""

CHECKIN_POINTS = ("checkin-copy", "checkin-stream", "checkin-layers")
"""Where PM_FAULT may stop `pm offline checkin` (pm_db.offline): once the files are copied,
after each stream's transaction, once the layers are written (the lease still held)."""


def checkpoint(point: str) -> None:
    """Kill this process with SIGKILL if PM_FAULT names `point`."""
    if os.environ.get("PM_FAULT") != point:
        return
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
