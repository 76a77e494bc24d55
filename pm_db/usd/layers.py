"""Sync, check and rebuild the layers of an asset, one asset at a time under its lock.

Rewrites of one asset are serialized: on PostgreSQL by a transaction-scoped advisory lock
named after the asset; on SQLite by the database write lock every write unit of work
takes (`BEGIN IMMEDIATE`), which covers every process on the one machine that holds the
file. The state is read after the lock is taken, so the last writer to get it writes
what the database holds once every earlier commit is in: two artists publishing two parts
of one asset at once both end up in the asset layer.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from pm_db.db import Database
from pm_db.errors import NotFound, PmError
from pm_db.models import Project
from pm_db.usd import compose, files
from pm_db.usd.state import AssetKey, AssetState, asset_keys, asset_state, key_of_part

Progress = Callable[[int, int], None]
STAGING_THREADS = 8


@dataclass(frozen=True)
class LayerFile:
    """One layer to write: its absolute path, its bytes and what it is."""

    path: str
    data: bytes
    kind: str
    name: str

    @property
    def field(self) -> str:
        """The publish field naming this layer, for errors."""
        return "part_usd_path" if self.kind == "part" else "asset_usd_path"


class SyncResult(BaseModel):
    """What one asset's sync did."""

    project: str
    asset: str
    layer: str
    written: list[str]
    unchanged: int
    removed: list[str]


class LayerProblem(BaseModel):
    """A layer on disk that disagrees with the database."""

    kind: str
    project: str
    asset: str
    path: str
    message: str


class RebuildReport(BaseModel):
    """What `pm usd rebuild` did."""

    assets: int
    layers_written: int
    layers_unchanged: int
    temp_files_removed: int
    failed: list[dict[str, str]]


def plan(state: AssetState) -> list[LayerFile]:
    """The layer files of an asset: its part layers by name, then the asset layer (so an
    asset layer never names a part layer that is not yet written)."""
    layers = [
        LayerFile(state.absolute(p.layer), compose.part_layer(state, p), "part", p.name)
        for p in state.parts
    ]
    asset = state.key.asset_name
    layers.append(
        LayerFile(state.absolute(state.layer), compose.asset_layer(state), "asset", asset)
    )
    return layers


def lock(session: Session, key: AssetKey) -> None:
    """Take the asset's layer lock for the rest of the transaction (see the module doc);
    `session` must be a write unit of work (`Database.write`), whose SQLite write lock is
    the lock there."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": key.lock_id})


def sync(session: Session, key: AssetKey) -> SyncResult | None:
    """Under the asset's lock, write every layer of the asset that differs from the
    database and remove leftover temporary files; None if the asset has no layers.
    Raises PermissionDenied (read-only layer) or PmError (write failed), leaving every
    layer as it was."""
    lock(session, key)
    state = asset_state(session, key)
    if state is None:
        return None
    return write(state)


def write(state: AssetState) -> SyncResult:
    """Write the layers of `state` that differ from disk; see `sync`."""
    layers = plan(state)
    removed = [temp for layer in layers for temp in files.leftovers(layer.path)]
    for temp in removed:
        files.remove_leftover(temp)
    current = {layer.path: files.read_bytes(layer.path) for layer in layers}
    changed = [layer for layer in layers if current[layer.path] != layer.data]
    for layer in changed:
        files.check_writable(layer.path, layer.field)
    staged = _stage(changed)
    done: list[LayerFile] = []
    for position, layer in enumerate(changed):
        try:
            files.commit(staged[position], layer.path, f"{layer.kind}-layer")
        except OSError as exc:
            for temp in staged[position:]:
                files.discard(temp)
            _undo(done, current)
            raise files.write_error(exc, layer.path, layer.field) from exc
        done.append(layer)
    return SyncResult(
        project=state.project,
        asset=state.key.asset_name,
        layer=state.absolute(state.layer),
        written=[layer.path for layer in changed],
        unchanged=len(layers) - len(changed),
        removed=removed,
    )


def _stage(layers: list[LayerFile]) -> list[str]:
    """Stage every layer's new bytes beside it, returning the temporary paths in order.
    A publish's two layers are staged on this thread (a second one measured no faster,
    even with PM_LAYER_FSYNC=1: the file system serializes the flushes); a rebuild's many
    run on a shared pool of threads. Raises PmError naming the first layer that failed,
    after discarding what was staged."""
    if len(layers) <= 2:
        outcomes = [_try_stage(layer) for layer in layers]
    else:
        outcomes = list(_pool().map(_try_stage, layers))
    staged = [outcome for outcome in outcomes if isinstance(outcome, str)]
    for layer, outcome in zip(layers, outcomes, strict=True):
        if isinstance(outcome, OSError):
            for temp in staged:
                files.discard(temp)
            raise files.write_error(outcome, layer.path, layer.field) from outcome
    return staged


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=STAGING_THREADS, thread_name_prefix="pm-stage")


def _try_stage(layer: LayerFile) -> str | OSError:
    try:
        return files.stage(layer.path, layer.data)
    except OSError as exc:
        return exc


def _undo(done: list[LayerFile], previous: dict[str, bytes | None]) -> None:
    """Put back the layers written before a failure, so no asset is left half-updated."""
    for layer in reversed(done):
        old = previous[layer.path]
        with contextlib.suppress(OSError):
            if old is None:
                os.unlink(layer.path)
            else:
                files.replace(layer.path, old, "undo")


def sync_asset(db: Database, key: AssetKey) -> SyncResult | None:
    """Sync one asset's layers in their own transaction; see `sync`."""
    return db.write(lambda session: sync(session, key))


def sync_part(db: Database, part_id: int) -> SyncResult | None:
    """Sync the layers of the asset a part belongs to, in one transaction. Raises
    NotFound, PermissionDenied, PmError."""
    return db.write(lambda session: sync(session, key_of_part(session, part_id)))


def problems(state: AssetState) -> list[LayerProblem]:
    """How the layers of `state` on disk differ from the database: missing, stale (other
    bytes) or with a leftover temporary file beside them."""
    found: list[LayerProblem] = []
    for layer in plan(state):
        on_disk = files.read_bytes(layer.path)
        what = f"{layer.kind} layer {layer.name}"
        if on_disk is None:
            found.append(_problem(state, "layer_missing", layer.path, f"{what} is missing"))
        elif on_disk != layer.data:
            message = f"{what} does not match the database"
            found.append(_problem(state, "layer_stale", layer.path, message))
        for temp in files.leftovers(layer.path):
            message = f"temporary file of {what} left by an interrupted write"
            found.append(_problem(state, "temp_file", temp, message))
    return found


def _problem(state: AssetState, kind: str, path: str, message: str) -> LayerProblem:
    return LayerProblem(
        kind=kind, project=state.project, asset=state.key.asset_name, path=path, message=message
    )


def find_assets(
    db: Database, project: str | None = None, asset_name: str | None = None
) -> list[AssetKey]:
    """The assets that have layers, optionally of one project (code) or asset name.
    Raises NotFound for an unknown project or an asset name with no layers."""

    def work(session: Session) -> list[AssetKey]:
        project_id = None
        if project is not None:
            project_id = session.scalar(
                select(Project.id).where(func.lower(Project.code) == project.lower())
            )
            if project_id is None:
                raise NotFound(f"no project {project!r}", field="project")
        keys = asset_keys(session, project_id, asset_name)
        if asset_name is not None and not keys:
            raise NotFound(f"no published asset named {asset_name!r}", field="asset")
        return keys

    return db.read(work)


def asset_layer_path(db: Database, key: AssetKey) -> str:
    """The absolute path of an asset's layer on this platform; raises NotFound if the
    asset has no layers."""
    state = db.read(lambda session: asset_state(session, key))
    if state is None:
        raise NotFound(f"asset {key.asset_name} has no layers", field="asset")
    return state.absolute(state.layer)


def rebuild(
    db: Database,
    project: str | None = None,
    asset_name: str | None = None,
    progress: Progress | None = None,
) -> RebuildReport:
    """Regenerate the layers of every asset (or one project's, or one asset name's) from
    the database; an asset that cannot be written is reported in `failed` and the others
    go on. Raises NotFound."""
    keys = find_assets(db, project, asset_name)
    report = RebuildReport(
        assets=len(keys), layers_written=0, layers_unchanged=0, temp_files_removed=0, failed=[]
    )
    for done, key in enumerate(keys, start=1):
        try:
            result = sync_asset(db, key)
        except PmError as exc:
            report.failed.append({"asset": key.asset_name, "error": str(exc)})
            result = None
        if result is not None:
            report.layers_written += len(result.written)
            report.layers_unchanged += result.unchanged
            report.temp_files_removed += len(result.removed)
        if progress is not None:
            progress(done, len(keys))
    return report
