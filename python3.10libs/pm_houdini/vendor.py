"""The vendored dependencies (`pm houdini vendor`) of this Python and system, made
importable. No `hou` here: the background preload uses it too."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def vendor_folder() -> Path | None:
    """The vendored dependencies for this Python and system (`$PM_ROOT/vendor/py3.11-linux`,
    made by `pm houdini vendor`), if present."""
    root = os.environ.get("PM_ROOT")
    if not root:
        return None
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    folder = Path(root) / "vendor" / f"py{python}-{system}"
    return folder if folder.is_dir() else None


def make_importable() -> None:
    """Append the vendor folder to `sys.path` (after Houdini's own site-packages, never
    before) if the package file's PYTHONPATH entry was not honoured."""
    folder = vendor_folder()
    if folder is not None and str(folder) not in sys.path:
        sys.path.append(str(folder))
