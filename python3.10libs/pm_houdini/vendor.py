"""pm's own code and its vendored dependencies, importable without shadowing Houdini.

Python puts every PYTHONPATH entry before site-packages, so the package file puts only
`python3.10libs` (this package) there. What else pm needs is added after Houdini's own
folders, once, when pm_houdini is first imported:

- the vendor folder (`$PM_VENDOR`, else `$PM_ROOT/vendor/py3.X-OS` for this Python and
  system) is appended to the END of `sys.path`: a package Houdini ships (requests,
  urllib3, certifi, typing_extensions...) is always Houdini's copy, and only what Houdini
  lacks (SQLAlchemy, pydantic, psycopg2...) comes from the vendor folder;
- `pm_db` is found in `$PM_ROOT` by a finder appended to the END of `sys.meta_path`
  that knows that one name, so the repository's other folders (`tests`, `bench`,
  `tools`) never become importable names in Houdini.

No `hou` here: the background preload and the hython launcher use it too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType

# The only top-level names pm imports from the package root.
ROOT_PACKAGES = ("pm_db",)


def vendor_folder() -> Path | None:
    """The vendored dependencies for this Python and system (`$PM_VENDOR`, else
    `$PM_ROOT/vendor/py3.11-linux`, made by `pm houdini vendor`), if present."""
    named = os.environ.get("PM_VENDOR")
    if named and Path(named).is_dir():
        return Path(named)
    root = os.environ.get("PM_ROOT")
    if not root:
        return None
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    folder = Path(root) / "vendor" / f"py{python}-{system}"
    return folder if folder.is_dir() else None


class RootPackageFinder:
    """Finds `pm_db` (and only it) in the package root, after every other finder."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname not in ROOT_PACKAGES:
            return None
        return PathFinder.find_spec(fullname, [self.root])


def make_importable() -> None:
    """Append the vendor folder to `sys.path` and the `pm_db` finder to `sys.meta_path`
    (both last, so Houdini's own packages come first); a second call changes nothing."""
    folder = vendor_folder()
    if folder is not None and str(folder) not in sys.path:
        sys.path.append(str(folder))
    root = os.environ.get("PM_ROOT")
    if root and not any(isinstance(f, RootPackageFinder) for f in sys.meta_path):
        sys.meta_path.append(RootPackageFinder(root))
