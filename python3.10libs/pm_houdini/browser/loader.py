"""Backend calls on worker threads, results back on the UI thread.

Houdini's UI must never wait for a query: every call that may touch the database or the
REST service (and even the import of pm_db's database stack) runs on a small thread pool;
its result or error is delivered to a callback on the UI thread through a queued signal.
Callbacks of a job submitted before `forget()` are dropped, so a refresh never sees an
older answer arrive after a newer one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pm_db.errors import PmError
from pm_houdini.qt import QtCore, Signal

if TYPE_CHECKING:
    from pm_db.backend import Backend

T = TypeVar("T")
BackendFactory = Callable[[], "Backend"]
log = logging.getLogger("pm.browser")


def default_backend() -> Backend:
    """The backend the environment selects (imported here, on a worker thread)."""
    from pm_db.backend import get_backend

    return get_backend()


class _Signals(QtCore.QObject):
    finished = Signal(int, bool, object)


class _Job(QtCore.QRunnable):
    def __init__(self, job_id: int, work: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self.job_id = job_id
        self.work = work
        self.signals = signals

    def run(self) -> None:
        try:
            result = self.work()
        except Exception as exc:
            self.signals.finished.emit(self.job_id, False, exc)
        else:
            self.signals.finished.emit(self.job_id, True, result)


class Loader(QtCore.QObject):
    """Runs work with the backend on worker threads; see the module docstring."""

    busy_changed = Signal(bool)

    def __init__(
        self,
        backend_factory: BackendFactory = default_backend,
        parent: QtCore.QObject | None = None,
        threads: int = 2,
    ) -> None:
        super().__init__(parent)
        self._factory = backend_factory
        self._backend: Backend | None = None
        self._backend_lock = threading.Lock()
        self._pool = QtCore.QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._signals = _Signals()
        self._signals.finished.connect(self._finished)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[Exception], None]]] = {}
        self._jobs: dict[int, _Job] = {}
        self._next_id = 0

    def backend(self) -> Backend:
        """The backend, created on first use (call from a worker: it may import and connect)."""
        with self._backend_lock:
            if self._backend is None:
                self._backend = self._factory()
            return self._backend

    def submit(
        self,
        work: Callable[[Backend], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None],
    ) -> int:
        """Run `work(backend)` on a worker; then `on_done(result)` or `on_error(exc)` on the
        UI thread. Returns the job id."""
        self._next_id += 1
        job_id = self._next_id
        self._callbacks[job_id] = (on_done, on_error)
        job = _Job(job_id, lambda: work(self.backend()), self._signals)
        job.setAutoDelete(False)
        self._jobs[job_id] = job
        if len(self._jobs) == 1:
            self.busy_changed.emit(True)
        self._pool.start(job)
        return job_id

    def forget(self) -> None:
        """Drop the callbacks of every job still running: their answers are out of date."""
        self._callbacks.clear()

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has finished (shutdown and tests); True if they all did."""
        done: bool = self._pool.waitForDone(msecs)
        return done

    def _finished(self, job_id: int, ok: bool, value: object) -> None:
        self._jobs.pop(job_id, None)
        callbacks = self._callbacks.pop(job_id, None)
        if not self._jobs:
            self.busy_changed.emit(False)
        if callbacks is None:
            return
        on_done, on_error = callbacks
        if ok:
            on_done(value)
            return
        assert isinstance(value, Exception)
        if not isinstance(value, PmError):
            log.error("browser job failed", exc_info=value)
        on_error(value)
