"""Layer files on disk: atomic replacement and the checks before it.

A layer is staged in a hidden temporary file beside its final name
(`.PinchIn.usd.<random>.pm-tmp`), then committed: renamed over the old one, so a reader
sees the old bytes or the new ones, never a partial file. The staged bytes are forced to
disk first (fsync) only with PM_LAYER_FSYNC=1: a layer is derived from the database, so
after a power loss `pm doctor` finds one that did not reach the disk and rewrites it
(docs/publishing.md). Only a writer holding the
asset's lock creates these files, so one found while holding it is a leftover of a crash.
A layer whose file has no write permission is refused (PermissionDenied): pipelines
mark files read-only to freeze them, and a rename would silently replace them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path

from pm_db.config import layer_fsync
from pm_db.errors import PermissionDenied, PmError
from pm_db.faults import checkpoint

TEMP_SUFFIX = ".pm-tmp"


def read_bytes(path: str) -> bytes | None:
    """The file's bytes, or None if it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        return b""


def leftovers(path: str) -> list[str]:
    """Temporary files a crashed writer left beside the layer `path`, sorted."""
    folder, name = os.path.split(path)
    prefix = f".{name}."
    try:
        with os.scandir(folder) as entries:
            found = [
                entry.path
                for entry in entries
                if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX)
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found)


def check_writable(path: str, field: str) -> None:
    """Raise PermissionDenied naming `field` if the layer at `path` cannot be replaced:
    the file is read-only, or the nearest existing folder above it is not writable."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        folder = Path(path).parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise PermissionDenied(
                f"cannot create {path}: {folder} is a file, not a folder", field
            ) from None
        if not os.access(folder, os.W_OK):
            raise PermissionDenied(
                f"cannot create {path}: {folder} is not writable", field
            ) from None
        return
    if stat.S_ISDIR(mode):
        raise PermissionDenied(f"{path} is a folder, not a layer file", field)
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        raise PermissionDenied(
            f"{path} is read-only; make it writable (chmod u+w) to let pm update it", field
        )


def temp_beside(path: str) -> str:
    """A new temporary file name beside `path`, the kind `leftovers` finds."""
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")


def stage(path: str, data: bytes) -> str:
    """Write `data` to a new temporary file beside `path` (forced to disk with
    PM_LAYER_FSYNC=1); returns its path. Raises OSError, leaving no temporary file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = temp_beside(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if layer_fsync():
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        discard(temp)
        raise
    return temp


def commit(temp: str, path: str, fault_point: str) -> None:
    """Rename a staged temporary file over `path` (atomic). Raises OSError."""
    checkpoint(fault_point)
    os.replace(temp, path)


def discard(temp: str) -> None:
    """Delete a staged temporary file that will not be committed."""
    with contextlib.suppress(OSError):
        os.unlink(temp)


def replace(path: str, data: bytes, fault_point: str) -> None:
    """Write `data` to `path` atomically: stage, then commit. Raises OSError; a failure
    leaves the old file in place and no temporary file."""
    temp = stage(path, data)
    try:
        commit(temp, path, fault_point)
    except BaseException:
        discard(temp)
        raise


def remove_leftover(path: str) -> None:
    """Delete one temporary file left by a crashed writer (never a layer or data file)."""
    if not path.endswith(TEMP_SUFFIX) or not Path(path).name.startswith("."):
        raise ValueError(f"{path} is not a pm temporary file")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def write_error(exc: OSError, path: str, field: str) -> PmError:
    """The pm error for a failed layer write."""
    if isinstance(exc, PermissionError):
        return PermissionDenied(f"cannot write {path}: permission denied", field)
    return PmError(f"cannot write {path}: {exc.strerror or exc}", field)
