"""The launcher window (pytest-qt, offscreen) over a real database, on SQLite and
PostgreSQL: pick an artist, see their tasks, launch a stand-in Houdini and read back the
environment it got."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pm_houdini.launcher import LauncherWindow
from pm_houdini.qt import QtWidgets

from pm_db.backend import LocalBackend
from pm_db.cli import main
from pm_db.db import Database
from pm_db.services import entities
from pm_db.services.events import list_events
from tests.conftest import Studio
from tests.test_launch import read_when_written, stand_in


def open_launcher(qtbot: Any, backend: Any, env: dict[str, str]) -> LauncherWindow:
    window = LauncherWindow(lambda: backend, env=env)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, window)
    return window


def settle(qtbot: Any, window: LauncherWindow) -> None:
    qtbot.waitUntil(lambda: not window.loader.busy, timeout=15_000)


def table(window: LauncherWindow) -> list[tuple[str, ...]]:
    model = window.view.model()
    return [
        tuple(model.index(row, column).data() for column in range(model.columnCount()))
        for row in range(model.rowCount())
    ]


@pytest.fixture
def env(db: Database, tmp_path: Path) -> dict[str, str]:
    script, _ = stand_in(tmp_path)
    package = tmp_path / "package"
    package.mkdir()
    (package / "pm.json").write_text("{}")
    return {
        **os.environ,
        "PM_ARTIST": "jdoe",
        "PM_DCC_HOUDINI": str(script),
        "PM_HOUDINI_PACKAGE_DIR": str(package),
        "PM_LAUNCH_CONFIG": "",
    }


def test_an_artist_sees_their_tasks(qtbot: Any, studio: Studio, env: dict[str, str]) -> None:
    entities.create(studio.db, "artist", {"login": "amy", "name": "Amy Lee"})
    window = open_launcher(qtbot, LocalBackend(db=studio.db), env)
    artists = [window.artists.itemText(i) for i in range(window.artists.count())]
    assert artists == ["Jane Doe (jdoe)", "Amy Lee (amy)"]
    assert window.current_artist() == "jdoe"
    assert table(window) == [
        ("FX3X", "Rock  (prop)", "fx", "todo"),
        ("FX3X", "SQ010/SH010  (1001-1100)", "fx", "todo"),
    ]
    assert window.launch_button.isEnabled()
    assert window.executable.text() == env["PM_DCC_HOUDINI"]
    assert studio.db.masked_url.split("///")[-1] in window.where.text()
    window.filter.setText("sh010")
    assert [row[1] for row in table(window)] == ["SQ010/SH010  (1001-1100)"]
    window.artists.setCurrentIndex(1)
    settle(qtbot, window)
    assert window.stack.currentWidget() is window.empty
    assert "amy has no tasks" in window.empty.text()
    assert not window.launch_button.isEnabled()


def test_launch_starts_houdini_with_the_context(
    qtbot: Any, studio: Studio, env: dict[str, str], tmp_path: Path
) -> None:
    window = open_launcher(qtbot, LocalBackend(db=studio.db), env)
    window.filter.setText("SH010")
    window.view.selectRow(0)
    with qtbot.waitSignal(window.launched, timeout=15_000) as signal:
        window.launch_button.click()
    result = signal.args[0]
    seen = read_when_written(tmp_path / "houdini-env.json")["env"]
    assert seen["PM_PROJECT"] == "FX3X"
    assert seen["PM_TASK_ID"] == str(studio.shot_task_id)
    assert seen["PM_ARTIST"] == "jdoe"
    assert seen["PM_DB_URL"] == env["PM_DB_URL"]
    assert seen["HOUDINI_PACKAGE_DIR"] == env["PM_HOUDINI_PACKAGE_DIR"]
    assert window.message.text() == (
        f"Started houdini (pid {result.pid}) for FX3X SQ010/SH010 fx as jdoe."
    )
    [event] = list_events(studio.db, kind="dcc.launched")
    assert (event.entity_id, event.payload["pid"]) == (studio.shot_task_id, result.pid)


def test_check_out_leases_the_task_and_later_launches_work_offline(
    qtbot: Any, studio: Studio, env: dict[str, str], tmp_path: Path
) -> None:
    window = open_launcher(qtbot, LocalBackend(db=studio.db), env)
    window.filter.setText("SH010")
    window.view.selectRow(0)
    with qtbot.waitSignal(window.checked_out, timeout=15_000) as signal:
        window.checkout_button.click()
    done = signal.args[0]
    checkout = Path(env["PM_HOME"]) / "offline" / "pm.sqlite"
    assert (done.task_id, done.database) == (studio.shot_task_id, str(checkout))
    assert f"lease {done.lease_id}" in window.message.text()
    rows = studio.db.read(
        lambda session: session.execute(
            text("SELECT lease_id, host FROM leases WHERE released_at IS NULL")
        ).all()
    )
    assert [tuple(row) for row in rows] == [(done.lease_id, done.host)]
    with qtbot.waitSignal(window.launched, timeout=15_000):
        window.launch_button.click()
    seen = read_when_written(tmp_path / "houdini-env.json")["env"]
    assert seen["PM_OFFLINE"] == str(checkout)
    assert seen["PM_TASK_ID"] == str(studio.shot_task_id)


def test_a_missing_executable_is_said_plainly(
    qtbot: Any, studio: Studio, env: dict[str, str]
) -> None:
    env["PM_DCC_HOUDINI"] = "/opt/hfs21.0/bin/houdini"
    window = open_launcher(qtbot, LocalBackend(db=studio.db), env)
    assert "/opt/hfs21.0/bin/houdini does not exist" in window.executable.text()
    window.view.selectRow(0)
    window.launch()
    settle(qtbot, window)
    assert window.message.text() == (
        "Could not launch: PM_DCC_HOUDINI: /opt/hfs21.0/bin/houdini does not exist"
    )
    assert list_events(studio.db, kind="dcc.launched") == []
    assert window.launch_button.isEnabled()


def test_an_empty_database_and_an_unreachable_one(
    qtbot: Any, db: Database, env: dict[str, str]
) -> None:
    empty = open_launcher(qtbot, LocalBackend(db=db), env)
    assert empty.stack.currentWidget() is empty.empty
    assert "No artists" in empty.empty.text()
    dead = Database("postgresql+psycopg2://postgres@127.0.0.1:1/pm")
    window = open_launcher(qtbot, LocalBackend(db=dead), env)
    assert window.banner.isVisible()
    assert "cannot reach database" in window.banner.label.text()
    assert window.refresh_button.isEnabled()
    dead.dispose()


def test_pm_launcher_opens_the_window(
    qtbot: Any, studio: Studio, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pm_houdini import launcher

    for name in ("PM_ARTIST", "PM_DCC_HOUDINI", "PM_HOUDINI_PACKAGE_DIR"):
        monkeypatch.setenv(name, env[name])
    seen: list[list[tuple[str, ...]]] = []

    def event_loop(app: Any) -> int:
        """Stands in for app.exec(): look at the window, close it, return its code (the
        real loop would end the test session's QApplication)."""
        windows = QtWidgets.QApplication.topLevelWidgets()
        [window] = [w for w in windows if isinstance(w, LauncherWindow) and w.isVisible()]
        qtbot.waitUntil(lambda: not window.loader.busy and window.table.tasks != [], timeout=15_000)
        seen.append(table(window))
        window.close()
        window.deleteLater()
        return 0

    monkeypatch.setattr(launcher, "exec_dialog", event_loop)
    assert main(["launcher"]) == 0
    assert [row[1] for row in seen[0]] == ["Rock  (prop)", "SQ010/SH010  (1001-1100)"]


class TargetsLost(LocalBackend):
    """A backend answering with tasks whose shot or asset it could not find."""

    def artist_tasks(self, artist: str) -> list[Any]:
        return [
            task.model_copy(update={"target": None, "target_type": None})
            for task in super().artist_tasks(artist)
        ]


def test_a_task_without_a_target_is_shown_and_cannot_be_launched(
    qtbot: Any, studio: Studio, env: dict[str, str]
) -> None:
    window = open_launcher(qtbot, TargetsLost(db=studio.db), env)
    assert [row[1] for row in table(window)] == ["(no shot or asset)", "(no shot or asset)"]
    window.view.selectRow(0)
    assert not window.launch_button.isEnabled()
    assert "is on no shot or asset" in window.message.text()
    window.launch()
    settle(qtbot, window)
    assert list_events(studio.db, kind="dcc.launched") == []


def test_an_unknown_pm_artist_selects_no_one_and_says_so(
    qtbot: Any, studio: Studio, env: dict[str, str]
) -> None:
    entities.create(studio.db, "artist", {"login": "amy", "name": "Amy Lee"})
    env["PM_ARTIST"] = "ghost"
    window = open_launcher(qtbot, LocalBackend(db=studio.db), env)
    assert window.current_artist() is None and window.artists.currentIndex() == -1
    assert window.stack.currentWidget() is window.empty
    assert "PM_ARTIST names 'ghost', who is not an active artist" in window.empty.text()
    assert not window.launch_button.isEnabled()
    window.artists.setCurrentIndex(1)
    settle(qtbot, window)
    assert window.current_artist() == "amy"
