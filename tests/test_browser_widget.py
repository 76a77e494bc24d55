"""The asset browser panel (pytest-qt, offscreen) over a real database, on SQLite and
PostgreSQL: the tree shows what the database holds, search and "latest only" filter it,
actions reach the services, and bad situations are shown without breaking the panel."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pm_houdini import lop
from pm_houdini.browser import AssetBrowser, widget
from pm_houdini.browser.model import NAME, STATUS

from pm_db import migrate
from pm_db.backend import LocalBackend
from pm_db.db import Database
from pm_db.services import entities, publish_reads
from tests.conftest import Studio
from tests.test_browser_support import publish, save, shot_history

Rows = list[tuple[int, str, str]]


@pytest.fixture(autouse=True)
def no_blocking_message_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed action shows a modal box that nobody would close here: it fails the test
    at once instead (the status line names the failure)."""

    def refuse(*args: Any) -> None:
        raise AssertionError(f"a message box was shown: {args[1:]}")

    monkeypatch.setattr(widget.QtWidgets.QMessageBox, "warning", refuse)


def open_browser(qtbot: Any, factory: Callable[[], Any]) -> AssetBrowser:
    browser = AssetBrowser(factory)
    qtbot.addWidget(browser)
    browser.resize(1200, 640)
    browser.show()
    settle(qtbot, browser)
    return browser


def settle(qtbot: Any, browser: AssetBrowser) -> None:
    qtbot.waitUntil(browser.is_idle, timeout=15_000)


def rows(browser: AssetBrowser) -> Rows:
    """What the tree shows: (depth, name, status) of every visible row, top to bottom."""
    shown: Rows = []
    model = browser.tree.model()

    def walk(parent: Any, depth: int) -> None:
        for row in range(model.rowCount(parent)):
            if browser.tree.isRowHidden(row, parent):
                continue
            index = model.index(row, NAME, parent)
            status = model.index(row, STATUS, parent).data() or ""
            shown.append((depth, index.data(), status))
            if browser.tree.isExpanded(index):
                walk(index, depth + 1)

    from pm_houdini.qt import QtCore

    walk(QtCore.QModelIndex(), 0)
    return shown


def names(browser: AssetBrowser) -> list[str]:
    return [name for _, name, _ in rows(browser)]


def open_keys(qtbot: Any, browser: AssetBrowser, *keys: str) -> None:
    for key in keys:
        assert browser.expand_key(key), key
        settle(qtbot, browser)


def select(qtbot: Any, browser: AssetBrowser, key: str) -> None:
    node = browser.model.node_for_key(key)
    assert node is not None, key
    browser.select(node)
    settle(qtbot, browser)


@pytest.fixture
def shot(studio: Studio) -> Iterator[dict[str, str]]:
    """A shot with two parts of three versions each, and an asset with one part."""
    made = shot_history(studio.db, studio.shot_task_id, iterations=3)
    rock = save(studio.db, studio.asset_task_id, scene="RockFx")
    publish(studio.db, rock.id, "Rock", "moss")
    part = made[-2]  # particles01 v001 i003
    from pm_db.services import browse

    [usd] = browse.children(studio.db, [f"shot:{studio.shot_id}"])
    yield {
        "project": f"project:{studio.project_id}",
        "sequence": f"sequence:{studio.sequence_id}",
        "shot": f"shot:{studio.shot_id}",
        "usd": usd.key,
        "part": f"part:{part.part_id}",
        "latest": f"publish:{part.id}",
        "oldest": f"publish:{made[0].id}",
    }


def local(studio: Studio) -> Callable[[], LocalBackend]:
    return lambda: LocalBackend(db=studio.db)


def test_the_tree_shows_what_the_database_holds(
    qtbot: Any, studio: Studio, shot: dict[str, str]
) -> None:
    browser = open_browser(qtbot, local(studio))
    # One project: it opens by itself.
    assert rows(browser)[:3] == [(0, "FX3X", ""), (1, "SQ010", ""), (1, "Rock", "")]
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    assert rows(browser)[2:] == [
        (2, "SH010", ""),
        (3, "PinchIn", ""),
        (4, "debris01", "latest v001 i003"),
        (4, "particles01", "latest v001 i003"),
        (5, "v001 i003", "published · latest"),
        (5, "v001 i002", "published"),
        (5, "v001 i001", "published"),
        (1, "Rock", ""),
    ]
    # The first row of each level took the place of its "Loading…" row: none of its look.
    from pm_houdini.qt import QtCore

    roles = QtCore.Qt.ItemDataRole
    for key in (shot["sequence"], shot["shot"], shot["usd"], shot["latest"]):
        node = browser.model.node_for_key(key)
        assert node is not None
        index = browser.model.index_for(node)
        assert index.data(roles.ForegroundRole) is None, key
        assert not index.data(roles.FontRole).italic(), key
    select(qtbot, browser, shot["latest"])
    details = browser.details
    assert details.title.text() == "particles01 v001 i003"
    assert details.trail.text() == "FX3X / SQ010 / SH010 / PinchIn / particles01"
    texts = [w.text() for w in details.findChildren(widget.QtWidgets.QLineEdit)]
    data_layer = browser.current_node().item.path  # type: ignore[union-attr]
    assert data_layer in texts and data_layer.startswith(str(studio.root))
    assert any(t.endswith("PinchIn_v001_i003.hip") for t in texts)
    metadata = details.findChildren(widget.QtWidgets.QPlainTextEdit)[0].toPlainText()
    assert '"frames"' in metadata


def test_keyboard_copy_refresh_and_find(qtbot: Any, studio: Studio, shot: dict[str, str]) -> None:
    from pm_houdini.qt import QtCore, QtGui

    browser = open_browser(qtbot, local(studio))
    browser.activateWindow()
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    select(qtbot, browser, shot["latest"])
    browser.tree.setFocus()
    control = QtCore.Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(browser.tree, QtCore.Qt.Key.Key_C, modifier=control)
    path = browser.current_node().item.path  # type: ignore[union-attr]
    assert QtGui.QGuiApplication.clipboard().text() == path
    qtbot.keyClick(browser.tree, QtCore.Qt.Key.Key_F, modifier=control)
    assert browser.search.hasFocus()
    publish(studio.db, save(studio.db, studio.shot_task_id).id, "PinchIn", "particles01")
    qtbot.keyClick(browser.tree, QtCore.Qt.Key.Key_F5)
    settle(qtbot, browser)
    settle(qtbot, browser)
    assert (5, "v001 i004", "published · latest") in rows(browser)


def test_search_filters_as_you_type_and_finds_unloaded_rows(
    qtbot: Any, studio: Studio, shot: dict[str, str]
) -> None:
    browser = open_browser(qtbot, local(studio))
    assert "debris01" not in names(browser)  # not loaded yet
    browser.search.setText("sq0")
    assert names(browser) == ["FX3X", "SQ010"]  # the loaded rows filter at once
    browser.search.setText("debr")
    assert names(browser) == []  # nothing loaded matches yet
    settle(qtbot, browser)  # then the database search opens the way
    assert names(browser) == ["FX3X", "SQ010", "SH010", "PinchIn", "debris01"]
    assert "1 match" in browser.status.text()
    browser.search.setText("rock")
    settle(qtbot, browser)
    assert names(browser)[:3] == ["FX3X", "Rock", "Rock"]
    browser.search.setText("no such name")
    settle(qtbot, browser)
    assert names(browser) == [] and "Nothing matches" in browser.status.text()
    browser.search.clear()
    assert {"SQ010", "SH010", "debris01", "particles01", "Rock"} <= set(names(browser))


def test_latest_only_hides_older_versions(qtbot: Any, studio: Studio, shot: dict[str, str]) -> None:
    browser = open_browser(qtbot, local(studio))
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    assert names(browser).count("v001 i001") == 1
    browser.latest_only.setChecked(True)
    versions = [n for n in names(browser) if n.startswith("v0")]
    assert versions == ["v001 i003"]
    browser.latest_only.setChecked(False)
    assert [n for n in names(browser) if n.startswith("v0")] == [
        "v001 i003",
        "v001 i002",
        "v001 i001",
    ]


def test_deprecate_asks_first_then_calls_the_service(
    qtbot: Any, studio: Studio, shot: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = open_browser(qtbot, local(studio))
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    select(qtbot, browser, shot["latest"])
    asked: list[str] = []
    answer = False
    monkeypatch.setattr(browser, "confirm", lambda title, text: asked.append(text) or answer)
    browser.run_action("deprecate")
    settle(qtbot, browser)
    latest_id = int(shot["latest"].split(":")[1])
    assert publish_reads.get_publish(studio.db, latest_id).status == "published"
    assert "particles01 v001 i003" in asked[0]
    answer = True
    browser.run_action("deprecate")
    settle(qtbot, browser)
    assert publish_reads.get_publish(studio.db, latest_id).status == "deprecated"
    assert (4, "particles01", "latest v001 i002") in rows(browser)
    assert (5, "v001 i003", "deprecated") in rows(browser)
    assert (5, "v001 i002", "published · latest") in rows(browser)
    assert browser.current_node().key == shot["latest"]  # type: ignore[union-attr]


def test_pin_and_unpin_call_the_part_service(
    qtbot: Any, studio: Studio, shot: dict[str, str]
) -> None:
    backend = LocalBackend(db=studio.db)
    browser = open_browser(qtbot, lambda: backend)
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    select(qtbot, browser, shot["oldest"])
    oldest = browser.current_node()
    assert oldest is not None and oldest.cells[0] == "v001 i001"
    assert browser.action_state(oldest)["pin"][0]
    browser.run_action("pin")
    settle(qtbot, browser)
    part = backend.get_part(int(shot["part"].split(":")[1]))
    assert part.pinned is not None and (part.pinned.version, part.pinned.iteration) == (1, 1)
    assert (4, "particles01", "pinned v001 i001") in rows(browser)
    assert (5, "v001 i001", "published · pinned") in rows(browser)
    browser.run_action("unpin")
    settle(qtbot, browser)
    assert backend.get_part(int(shot["part"].split(":")[1])).pinned is None
    assert (4, "particles01", "latest v001 i003") in rows(browser)


def test_layer_actions_load_the_selected_layer(
    qtbot: Any, studio: Studio, shot: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(lop, "available", lambda: True)
    monkeypatch.setattr(lop, "add_layer", lambda *args: calls.append(("add", *args)) or object())
    monkeypatch.setattr(lop, "open_scene", lambda path: calls.append(("open", path)))
    browser = open_browser(qtbot, local(studio))
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    for key in (shot["usd"], shot["part"], shot["latest"]):
        select(qtbot, browser, key)
        browser.run_action("sublayer")
        browser.run_action("reference")
    select(qtbot, browser, shot["latest"])
    browser.run_action("open_scene")
    usd = browser.model.node_for_key(shot["usd"]).item  # type: ignore[union-attr]
    part = browser.model.node_for_key(shot["part"]).item  # type: ignore[union-attr]
    latest = browser.model.node_for_key(shot["latest"]).item  # type: ignore[union-attr]
    assert calls == [
        ("add", usd.path, "sublayer", "PinchIn", "/PinchIn"),
        ("add", usd.path, "reference", "PinchIn", "/PinchIn"),
        ("add", part.path, "sublayer", "PinchIn_particles01", "/PinchIn/particles01"),
        ("add", part.path, "reference", "PinchIn_particles01", "/PinchIn/particles01"),
        ("add", latest.path, "sublayer", "PinchIn_particles01", "/PinchIn/particles01"),
        ("add", latest.path, "reference", "PinchIn_particles01", "/PinchIn/particles01"),
        ("open", latest.scene_path),
    ]
    assert latest.path.endswith("particles01_v001_i003.usd")
    assert "Added PinchIn_particles01" in browser.status.text()


def test_outside_houdini_the_houdini_actions_are_off(
    qtbot: Any, studio: Studio, shot: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lop, "available", lambda: False)
    browser = open_browser(qtbot, local(studio))
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    select(qtbot, browser, shot["latest"])
    buttons = browser.details.buttons
    assert not buttons["sublayer"].isEnabled() and not buttons["open_scene"].isEnabled()
    assert "needs a Houdini session" in buttons["sublayer"].toolTip()
    assert buttons["pin"].isEnabled() and buttons["deprecate"].isEnabled()


def test_a_deleted_file_is_marked(
    qtbot: Any, studio: Studio, shot: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lop, "available", lambda: True)
    middle = publish_reads.get_publish(studio.db, int(shot["latest"].split(":")[1]) - 2)
    Path(middle.item_usd_path).unlink()
    browser = open_browser(qtbot, local(studio))
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    assert (5, "v001 i002", "published · missing file") in rows(browser)
    assert (5, "v001 i003", "published · latest") in rows(browser)
    select(qtbot, browser, f"publish:{middle.id}")
    assert browser.details.warning.isVisible()
    assert middle.item_usd_path in browser.details.warning.text()
    assert not browser.details.buttons["sublayer"].isEnabled()


def test_versions_come_in_pages(
    qtbot: Any, studio: Studio, shot: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widget, "PAGE", 2)
    for _ in range(3):
        publish(studio.db, save(studio.db, studio.shot_task_id).id, "PinchIn", "particles01")
    browser = open_browser(qtbot, local(studio))
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    assert [n for n in names(browser) if n.startswith(("v0", "Show"))] == [
        "v001 i006",
        "v001 i005",
        "Show more (4 older)",
    ]
    part = browser.model.node_for_key(shot["part"])
    assert part is not None
    more = part.children[-1]
    browser.model.request_more(more)
    settle(qtbot, browser)
    more = part.children[-1]
    browser.model.request_more(more)
    settle(qtbot, browser)
    assert [n for n in names(browser) if n.startswith(("v0", "Show"))] == [
        "v001 i006",
        "v001 i005",
        "v001 i004",
        "v001 i003",
        "v001 i002",
        "v001 i001",
    ]


def test_the_latest_stays_on_the_first_page_and_pages_never_repeat(
    qtbot: Any, studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widget, "PAGE", 2)
    first = publish(studio.db, save(studio.db, studio.shot_task_id).id, "PinchIn", "smoke01")
    for _ in range(4):
        scene = save(studio.db, studio.shot_task_id)
        publish(studio.db, scene.id, "PinchIn", "smoke01", status="deprecated")
    browser = open_browser(qtbot, local(studio))
    from pm_db.services import browse

    [usd] = browse.children(studio.db, [f"shot:{studio.shot_id}"])
    part = f"part:{first.part_id}"
    open_keys(qtbot, browser, f"sequence:{studio.sequence_id}", f"shot:{studio.shot_id}")
    open_keys(qtbot, browser, usd.key, part)
    shown = [(n, s) for _, n, s in rows(browser) if n.startswith(("v0", "Show"))]
    assert shown == [
        ("v001 i005", "deprecated"),
        ("v001 i004", "deprecated"),
        ("v001 i001", "published · latest"),
        ("Show more (3 older)", ""),
    ]
    browser.latest_only.setChecked(True)
    assert [n for n in names(browser) if n.startswith(("v0", "Show"))] == ["v001 i001"]
    browser.latest_only.setChecked(False)
    node = browser.model.node_for_key(part)
    assert node is not None
    for _ in range(2):
        browser.model.request_more(node.children[-1])
        settle(qtbot, browser)
    assert [n for n in names(browser) if n.startswith(("v0", "Show"))] == [
        "v001 i005",
        "v001 i004",
        "v001 i003",
        "v001 i002",
        "v001 i001",
    ]


def test_refresh_keeps_what_was_open_and_shows_new_publishes(
    qtbot: Any, studio: Studio, shot: dict[str, str]
) -> None:
    browser = open_browser(qtbot, local(studio))
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    select(qtbot, browser, shot["latest"])
    newest = publish(studio.db, save(studio.db, studio.shot_task_id).id, "PinchIn", "particles01")
    browser.refresh()
    settle(qtbot, browser)
    settle(qtbot, browser)
    assert (5, "v001 i004", "published · latest") in rows(browser)
    assert (5, "v001 i003", "published") in rows(browser)
    assert browser.current_node().key == shot["latest"]  # type: ignore[union-attr]
    assert newest.version == 1


def test_an_empty_database_says_how_to_start(qtbot: Any, db: Database) -> None:
    browser = open_browser(qtbot, lambda: LocalBackend(db=db))
    assert browser.stack.currentWidget() is browser.empty
    assert "No projects" in browser.empty.text()
    entities.create(db, "project", {"code": "NEW", "name": "New show", "root_linux": "/show/new"})
    browser.refresh()
    settle(qtbot, browser)
    assert browser.stack.currentWidget() is browser.tree
    assert names(browser) == ["NEW"]


def test_an_unreachable_database_shows_a_banner(qtbot: Any) -> None:
    dead = Database("postgresql+psycopg2://postgres@127.0.0.1:1/pm")
    browser = open_browser(qtbot, lambda: LocalBackend(db=dead))
    assert browser.banner.isVisible()
    assert "cannot reach database" in browser.banner.label.text()
    assert browser.search.isEnabled() and browser.refresh_button.isEnabled()
    dead.dispose()


def test_retry_recovers_once_the_database_is_ready(qtbot: Any, tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'later.sqlite'}")
    browser = open_browser(qtbot, lambda: LocalBackend(db=database))
    assert browser.banner.isVisible() and "pm db upgrade" in browser.banner.label.text()
    migrate.upgrade(database)
    entities.create(
        database, "project", {"code": "LATE", "name": "Late show", "root_linux": "/show/late"}
    )
    browser.banner.retry.click()
    settle(qtbot, browser)
    assert not browser.banner.isVisible()
    assert names(browser) == ["LATE"]
    database.dispose()


def test_a_version_whose_data_layer_is_missing_cannot_be_pinned(
    qtbot: Any, studio: Studio, shot: dict[str, str]
) -> None:
    backend = LocalBackend(db=studio.db)
    oldest_id = int(shot["oldest"].split(":")[1])
    os.remove(publish_reads.get_publish(studio.db, oldest_id).item_usd_path)
    browser = open_browser(qtbot, lambda: backend)
    open_keys(qtbot, browser, shot["sequence"], shot["shot"], shot["usd"], shot["part"])
    select(qtbot, browser, shot["oldest"])
    oldest = browser.current_node()
    assert oldest is not None and oldest.missing
    enabled, reason = browser.action_state(oldest)["pin"]
    assert not enabled and reason.startswith("its data layer is missing on disk")
