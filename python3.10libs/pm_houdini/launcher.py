"""The launcher: an artist picks themself, sees their tasks and starts Houdini on one of
them with the pipeline context in its environment (`pm launcher`).

It talks to pm through a Backend on worker threads (database or REST alike), so a slow
or unreachable database never freezes it: an error shows in a banner with Retry. Each
launch goes through pm_db.launch, which checks everything (the task has a shot or asset,
the artist exists, the executable is configured and present) before starting anything,
and records the launch as an event.

Check out copies the selected task to this machine and leases it in the studio database
(pm_db.offline, docs/offline.md); the window's later launches then start Houdini with
PM_OFFLINE, working in the checkout. `pm offline checkin` brings the work back.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pm_houdini.browser import style
from pm_houdini.browser.loader import BackendFactory, Loader, default_backend
from pm_houdini.browser.widget import Banner
from pm_houdini.qt import QtCore, QtGui, QtWidgets, Signal, application, exec_dialog

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.launch import LaunchResult
    from pm_db.offline import CheckoutOut
    from pm_db.views import TaskRow

COLUMNS = ("Project", "Shot / Asset", "Task", "Status")
NO_TARGET = "(no shot or asset)"
Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex
NO_INDEX = QtCore.QModelIndex()
_ROLES = QtCore.Qt.ItemDataRole


class TaskTable(QtCore.QAbstractTableModel):
    """An artist's tasks, one row each."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks: list[TaskRow] = []

    def set_tasks(self, tasks: Sequence[TaskRow]) -> None:
        self.beginResetModel()
        self.tasks = list(tasks)
        self.endResetModel()

    def rowCount(self, parent: Index = NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.tasks)

    def columnCount(self, parent: Index = NO_INDEX) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: QtCore.Qt.Orientation, role: int = _ROLES.DisplayRole
    ) -> Any:
        horizontal = orientation == QtCore.Qt.Orientation.Horizontal
        if horizontal and role == _ROLES.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = _ROLES.DisplayRole) -> Any:
        if not index.isValid():
            return None
        task = self.tasks[index.row()]
        column = index.column()
        if role == _ROLES.DisplayRole:
            target = task.target or NO_TARGET
            if task.target and task.target_info:
                target = f"{task.target}  ({task.target_info})"
            work = task.step if task.name == task.step else f"{task.step} · {task.name}"
            return (task.project, target, work, task.status)[column]
        if role == _ROLES.ToolTipRole and column == 0:
            return task.project_name
        if role == _ROLES.DecorationRole and column == 3:
            return style.status_icon(task.status)
        if role == _ROLES.DecorationRole and column == 1 and task.target_type:
            return style.kind_icon(task.target_type)
        if role == _ROLES.ForegroundRole:
            if column == 1 and task.target is None:
                return style.colour("failed")
            if column == 3:
                return style.colour(task.status)
        return None


class LauncherWindow(QtWidgets.QWidget):
    """The launcher window; see the module docstring."""

    launched = Signal(object)
    checked_out = Signal(object)

    def __init__(
        self,
        backend_factory: BackendFactory = default_backend,
        parent: QtWidgets.QWidget | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("pm Launcher")
        self.env = dict(os.environ if env is None else env)
        self.loader = Loader(backend_factory, self)
        self.table = TaskTable(self)
        self.proxy = QtCore.QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.table)
        self.proxy.setFilterCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self._wanted_artist = self.env.get("PM_ARTIST") or getpass.getuser()
        self._build()
        self.refresh()

    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        title = QtWidgets.QLabel("pm Launcher")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        self.where = QtWidgets.QLabel()
        self.where.setStyleSheet(f"color: {style.MUTED};")
        header = QtWidgets.QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.where)
        layout.addLayout(header)
        self.banner = Banner(self.refresh)
        layout.addWidget(self.banner)

        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Artist:"))
        self.artists = QtWidgets.QComboBox()
        self.artists.setMinimumWidth(240)
        self.artists.currentIndexChanged.connect(self._artist_changed)
        row.addWidget(self.artists)
        self.filter = QtWidgets.QLineEdit()
        self.filter.setPlaceholderText("Filter tasks…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        row.addWidget(self.filter, 1)
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        row.addWidget(self.refresh_button)
        layout.addLayout(row)

        self.view = QtWidgets.QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setShowGrid(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(26)
        columns = self.view.horizontalHeader()
        columns.setStretchLastSection(True)
        columns.setDefaultAlignment(
            QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        for column, width in enumerate((110, 280, 160)):
            columns.resizeSection(column, width)
        self.view.doubleClicked.connect(lambda _index: self.launch())
        self.view.selectionModel().currentRowChanged.connect(lambda *_: self._update())
        self.empty = QtWidgets.QLabel()
        self.empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {style.MUTED}; padding: 24px;")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty)
        layout.addWidget(self.stack, 1)

        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(QtWidgets.QLabel("Application:"))
        self.dccs = QtWidgets.QComboBox()
        self.dccs.currentIndexChanged.connect(lambda _index: self._update())
        bottom.addWidget(self.dccs)
        self.executable = QtWidgets.QLabel()
        self.executable.setWordWrap(True)
        self.executable.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom.addWidget(self.executable, 1)
        self.launch_button = QtWidgets.QPushButton("Launch")
        self.launch_button.setMinimumWidth(140)
        self.launch_button.setMinimumHeight(32)
        self.launch_button.setStyleSheet(
            "QPushButton { background: #3d6a9e; color: white; font-weight: 600;"
            " border: 1px solid #2c4f77; border-radius: 3px; padding: 4px 16px; }"
            " QPushButton:hover { background: #4a7bb3; }"
            " QPushButton:disabled { background: #4a4a4a; color: #8a8a8a;"
            " border-color: #3a3a3a; }"
        )
        self.launch_button.setDefault(True)
        self.launch_button.clicked.connect(self.launch)
        self.checkout_button = QtWidgets.QPushButton("Check out")
        self.checkout_button.setToolTip(
            "Copy this task to this machine and lease it, to work without the studio "
            "database; `pm offline checkin` brings the work back"
        )
        self.checkout_button.clicked.connect(self.check_out)
        bottom.addWidget(self.checkout_button)
        bottom.addWidget(self.launch_button)
        layout.addLayout(bottom)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        self.resize(900, 520)

    # Data -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the artists (and then the chosen artist's tasks) and the DCC list."""
        self.banner.hide()
        self._show_where()
        self._load_dccs()
        current = self.current_artist()
        if current:
            self._wanted_artist = current
        self.loader.submit(
            lambda backend: backend.list("artist", active=True), self._artists_loaded, self._failed
        )

    def _show_where(self) -> None:
        from pm_db.config import load_settings
        from pm_db.errors import PmError

        try:
            settings = load_settings(self.env)
        except PmError as exc:
            self.where.setText(str(exc))
            return
        if settings.api_url:
            self.where.setText(f"REST service: {settings.api_url}")
        elif settings.is_sqlite:
            self.where.setText(f"Database: {settings.db_url.split(':///', 1)[-1]}")
        else:
            self.where.setText(f"Database: {settings.masked_db_url}")

    def _load_dccs(self) -> None:
        from pm_db import launch
        from pm_db.errors import PmError

        chosen = self.dccs.currentText() or "houdini"
        try:
            names = launch.available_dccs(self.env)
        except PmError as exc:
            names = ["houdini"]
            self._say(str(exc), error=True)
        self.dccs.blockSignals(True)
        self.dccs.clear()
        self.dccs.addItems(names)
        self.dccs.setCurrentIndex(max(0, self.dccs.findText(chosen)))
        self.dccs.blockSignals(False)

    def _artists_loaded(self, artists: Sequence[Any]) -> None:
        self.artists.blockSignals(True)
        self.artists.clear()
        for artist in artists:
            self.artists.addItem(f"{artist.name} ({artist.login})", artist.login)
        index = self.artists.findData(self._wanted_artist)
        # Never fall back to someone else: Launch would start Houdini as them.
        self.artists.setCurrentIndex(index)
        self.artists.blockSignals(False)
        if not artists:
            self._empty("No artists in the database yet: add one with `pm artist create`.")
            return
        if index < 0:
            source = "PM_ARTIST" if self.env.get("PM_ARTIST") else "your login"
            self._empty(
                f"{source} names {self._wanted_artist!r}, who is not an active artist: "
                "pick yourself in the list above."
            )
            return
        self._artist_changed()

    def current_artist(self) -> str | None:
        login = self.artists.currentData()
        return str(login) if login else None

    def _artist_changed(self, *_args: Any) -> None:
        login = self.current_artist()
        if not login:
            return
        self._wanted_artist = login
        self.loader.submit(
            lambda backend: backend.artist_tasks(login),
            lambda tasks: self._tasks_loaded(login, tasks),
            self._failed,
        )

    def _tasks_loaded(self, login: str, tasks: Sequence[TaskRow]) -> None:
        if login != self.current_artist():
            return
        self.table.set_tasks(tasks)
        if not tasks:
            self._empty(f"{login} has no tasks assigned. Ask production for one, then Refresh.")
            return
        self.stack.setCurrentWidget(self.view)
        if not self.view.currentIndex().isValid():
            self.view.selectRow(0)
        self._update()

    def _empty(self, text: str) -> None:
        self.table.set_tasks([])
        self.empty.setText(text)
        self.stack.setCurrentWidget(self.empty)
        self._update()

    def _failed(self, exc: Exception) -> None:
        self.banner.show_error(f"pm did not answer: {exc}")

    # Launching --------------------------------------------------------------------------

    def current_task(self) -> TaskRow | None:
        index = self.view.currentIndex()
        if not index.isValid() or self.stack.currentWidget() is not self.view:
            return None
        return self.table.tasks[self.proxy.mapToSource(index).row()]

    def _update(self) -> None:
        from pm_db import launch
        from pm_db.errors import PmError

        dcc = self.dccs.currentText() or "houdini"
        try:
            executable = launch.find_executable(dcc, self.env)
        except PmError as exc:
            self.executable.setText(str(exc))
            self.executable.setStyleSheet(f"color: {style.STATUS_COLOURS['failed']};")
        else:
            self.executable.setText(executable.path)
            self.executable.setToolTip(f"from {executable.source}")
            self.executable.setStyleSheet(f"color: {style.MUTED};")
        task = self.current_task()
        self.launch_button.setEnabled(task is not None and task.target is not None)
        self.checkout_button.setEnabled(task is not None and task.target is not None)
        if task is not None and task.target is None:
            self._say(
                f"Task {task.id} ({task.name}) is on no shot or asset; ask production to fix it.",
                error=True,
            )

    def _say(self, text: str, error: bool = False) -> None:
        colour = style.STATUS_COLOURS["failed" if error else "published"]
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    def launch(self) -> None:
        """Start the chosen application for the selected task (checked first, off the UI
        thread); the result or the reason it could not start shows below."""
        task = self.current_task()
        artist = self.current_artist()
        if task is None or artist is None or task.target is None:
            return
        dcc = self.dccs.currentText() or "houdini"
        env = dict(self.env)
        self.launch_button.setEnabled(False)
        self._say(f"Starting {dcc} for {task.project} {task.target} {task.step}…")

        def work(backend: Backend) -> LaunchResult:
            from pm_db import launch

            return launch.launch(backend, dcc, task.id, artist, env)

        self.loader.submit(work, self._launched, self._launch_failed)

    def _launched(self, result: LaunchResult) -> None:
        self._update()
        where = result.context.get("PM_PROJECT", "")
        task = next((t for t in self.table.tasks if t.id == result.task_id), None)
        if task is not None:
            where = f"{task.project} {task.target} {task.step}"
        self._say(
            f"Started {result.dcc} (pid {result.pid}) for {where} as {result.artist}."
            + "".join(f"\nNote: {note}" for note in result.notes)
        )
        self.launched.emit(result)

    def _launch_failed(self, exc: Exception) -> None:
        self._update()
        self._say(f"Could not launch: {exc}", error=True)

    # Checking out -----------------------------------------------------------------------

    def check_out(self) -> None:
        """Check the selected task out to this machine (off the UI thread); the next
        launches work in the checkout (PM_OFFLINE)."""
        task = self.current_task()
        artist = self.current_artist()
        if task is None or artist is None or task.target is None:
            return
        env = dict(self.env)
        self.checkout_button.setEnabled(False)
        self._say(f"Checking out {task.project} {task.target} {task.step}…")

        def work(_backend: Backend) -> CheckoutOut:
            from pm_db import offline
            from pm_db.config import load_settings

            return offline.check_out_here(load_settings(env), task.id, artist)

        self.loader.submit(work, self._checked_out, self._checkout_failed)

    def _checked_out(self, done: CheckoutOut) -> None:
        self.env["PM_OFFLINE"] = done.database
        self._update()
        self._say(
            f"Checked out task {done.task_id} to {done.database} (lease {done.lease_id}). "
            "Launch now works offline; `pm offline checkin` brings the work back."
        )
        self.checked_out.emit(done)

    def _checkout_failed(self, exc: Exception) -> None:
        self._update()
        self._say(f"Could not check out: {exc}", error=True)

    def shutdown(self) -> None:
        self.loader.forget()
        self.loader.wait()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


def run() -> int:
    """Open the launcher as a desktop application; returns its exit code."""
    app = application()
    app.setApplicationName("pm Launcher")
    style.apply_theme(app)
    window = LauncherWindow()
    window.show()
    return exec_dialog(app)
