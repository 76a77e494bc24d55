"""The asset browser: a tree of everything published, a details pane, search, actions.

All database work runs on the Loader's worker threads; this widget only turns answers
into rows. Levels load when expanded; typing filters the loaded rows at once and, a moment
later, asks the database for every matching name and opens the way to it. Refresh keeps
what was expanded and selected. An unreachable database shows a banner with Retry; an
empty one says how to start; a publish whose file is gone is marked.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from pm_houdini import lop
from pm_houdini.browser import style
from pm_houdini.browser.details import ACTIONS, DetailsPane
from pm_houdini.browser.loader import BackendFactory, Loader, default_backend
from pm_houdini.browser.model import COLUMNS, BrowseModel, Node, RowFilter
from pm_houdini.qt import QAction, QtCore, QtGui, QtWidgets, exec_dialog

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.views import BrowseNode

PAGE = 200
SEARCH_DELAY_MS = 250
SLICE_MS = 8
MAX_SEARCH_EXPAND = 150
COLUMN_WIDTHS = (230, 175, 80, 130, 200)
FILE_STATUSES = ("published", "deprecated")


def missing_files(items: Iterable[BrowseNode]) -> set[str]:
    """Keys of the items whose file should exist and does not (checked on this machine)."""
    missing = set()
    for item in items:
        if not item.path:
            continue
        if item.kind in ("publish", "part") and item.status not in FILE_STATUSES:
            continue
        if item.kind == "usd_asset" and item.time is None:
            continue
        if item.kind in ("publish", "part", "usd_asset") and not os.path.exists(item.path):
            missing.add(item.key)
    return missing


class Banner(QtWidgets.QFrame):
    """A red strip saying what failed, with a Retry button."""

    def __init__(self, on_retry: Callable[[], None]) -> None:
        super().__init__()
        self.setObjectName("pmBanner")
        self.setStyleSheet(
            f"QFrame#pmBanner {{ background: {style.ERROR_BACKGROUND};"
            f" border: 1px solid {style.ERROR_BORDER}; border-radius: 3px; }}"
        )
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry = QtWidgets.QPushButton("Retry")
        self.retry.clicked.connect(on_retry)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry)
        self.hide()

    def show_error(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class AssetBrowser(QtWidgets.QWidget):
    """The asset browser panel; see the module docstring."""

    def __init__(
        self,
        backend_factory: BackendFactory = default_backend,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pmAssetBrowser")
        self.setWindowTitle("pm Asset Browser")
        self.loader = Loader(backend_factory, self)
        self.model = BrowseModel(self)
        self._restore: set[str] = set()
        self._expanded: set[str] = set()
        self._quiet = False
        self._restore_current: str | None = None
        self._queued: list[str] = []
        self._flush = QtCore.QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._load_queued)
        self._search_timer = QtCore.QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search)
        self._tasks: deque[Callable[[], object]] = deque()
        self._drain = QtCore.QTimer(self)
        self._drain.setSingleShot(True)
        self._drain.setInterval(0)
        self._drain.timeout.connect(self._run_tasks)
        self._build()
        self.model.fetch_requested.connect(self._queue_load)
        self.model.more_requested.connect(self._load_more)
        self.loader.busy_changed.connect(self._busy)
        self.refresh()

    # Layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.status = QtWidgets.QLabel()
        self.status.setStyleSheet(f"color: {style.MUTED};")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        bar = QtWidgets.QHBoxLayout()
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search shots, assets, USD assets, parts…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter_changed)
        self.latest_only = QtWidgets.QCheckBox("Latest only")
        self.latest_only.setToolTip("Show only the latest (and pinned) version of each part")
        self.latest_only.toggled.connect(self._latest_only_changed)
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setToolTip("Reload from the database, keeping what is open")
        self.refresh_button.clicked.connect(self.refresh)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.latest_only)
        bar.addWidget(self.refresh_button)
        layout.addLayout(bar)
        self.banner = Banner(self.refresh)
        layout.addWidget(self.banner)

        self.tree = QtWidgets.QTreeView()
        self.tree.setModel(self.model)
        self.filter = RowFilter(self.tree, self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.clicked.connect(self._clicked)
        self.tree.doubleClicked.connect(self._double_clicked)
        self.tree.expanded.connect(self._opened)
        self.tree.collapsed.connect(self._closed)
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate(COLUMN_WIDTHS[: len(COLUMNS)]):
            header.resizeSection(column, width)
        selection = self.tree.selectionModel()
        selection.currentChanged.connect(self._current_changed)

        self.empty = QtWidgets.QLabel()
        self.empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty.setStyleSheet(f"color: {style.MUTED}; padding: 24px;")
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.tree)
        self.stack.addWidget(self.empty)

        self.details = DetailsPane()
        self.details.action_requested.connect(self.run_action)
        self.details.copied.connect(lambda path: self.status.setText(f"Copied {path}"))
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        keys = QtGui.QKeySequence.StandardKey
        for sequence, handler in (
            (keys.Copy, self._copy_current),
            (keys.Refresh, self.refresh),
            (keys.Find, self.search.setFocus),
        ):
            # Only while the focus is in the panel, so Houdini's own hotkeys stay Houdini's.
            action = QAction(self)
            action.setShortcut(sequence)
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(handler)
            self.addAction(action)
        self._update_actions(None)

    # Loading --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload everything from the database, keeping expanded rows and the selection."""
        self._restore |= self._expanded_keys()
        current = self.current_node()
        if current is not None and current.item is not None:
            self._restore_current = current.key
        self.loader.forget()
        self._tasks.clear()
        self.banner.hide()
        self.status.setText("Loading…")
        self.loader.submit(lambda backend: backend.browse_roots(), self._roots_loaded, self._failed)

    def _roots_loaded(self, items: Sequence[BrowseNode]) -> None:
        header = self.tree.header()
        widths = [header.sectionSize(column) for column in range(header.count())]
        self.model.set_roots(items)
        for column, width in enumerate(widths):
            header.resizeSection(column, width)
        if not items:
            self.empty.setText(
                "No projects in the database yet.\n\nCreate one with `pm project create`, "
                "save and publish from Houdini, then press Refresh."
            )
            self.stack.setCurrentWidget(self.empty)
            self.status.setText("Empty database")
            return
        self.stack.setCurrentWidget(self.tree)
        self.status.setText(f"{len(items)} project{'s' if len(items) != 1 else ''}")
        wanted = os.environ.get("PM_PROJECT", "").lower()
        for item in items:
            if len(items) == 1 or item.name.lower() == wanted:
                self._restore.add(item.key)
        self._restore_rows(self.model.root.children)
        if self.filter.active:
            self.filter.apply()

    def _queue_load(self, key: str) -> None:
        """Collect the levels asked for in this turn of the event loop into one call."""
        self._queued.append(key)
        self._flush.start()

    def _load_queued(self) -> None:
        keys, self._queued = self._queued, []
        if not keys:
            return

        def work(backend: Backend) -> tuple[list[BrowseNode], set[str]]:
            items = backend.browse_children(keys, PAGE)
            return items, missing_files(items)

        self.loader.submit(
            work,
            lambda answer: self._children_loaded(keys, *answer),
            lambda exc: self._children_failed(keys, exc),
        )

    def _later(self, *tasks: Callable[[], object]) -> None:
        """Apply an answer in slices (see _run_tasks)."""
        self._tasks.extend(tasks)
        self._drain.start()

    def _run_tasks(self) -> None:
        """Turn answers into rows for at most SLICE_MS, then let Qt paint and take input: a
        big answer (a hundred shots opened at once) never freezes the panel."""
        deadline = time.perf_counter() + SLICE_MS / 1000
        while self._tasks and time.perf_counter() < deadline:
            self._tasks.popleft()()
        if self.filter.active:
            self.filter.apply()
        if self._tasks:
            self._drain.start()

    def _children_loaded(self, keys: list[str], items: list[BrowseNode], missing: set[str]) -> None:
        by_parent: dict[str, list[BrowseNode]] = defaultdict(list)
        for item in items:
            by_parent[item.parent or ""].append(item)
        self._later(*(partial(self._fill, key, by_parent.get(key, []), missing) for key in keys))

    @contextmanager
    def _folded(self, key: str) -> Iterator[None]:
        """Change the rows under `key` while it is collapsed, then open it again: Qt lays out
        the whole tree again for rows added under an open row, but only the new rows when
        a row opens."""
        node = self.model.node_for_key(key)
        index = self.view_index(node) if node is not None else QtCore.QModelIndex()
        folded = index.isValid() and self.tree.isExpanded(index)
        if folded:
            self._quiet = True
            self.tree.collapse(index)
        try:
            yield
        finally:
            if folded and node is not None:
                self.tree.expand(self.view_index(node))
            self._quiet = False

    def _fill(self, key: str, items: list[BrowseNode], missing: set[str], page: int = -1) -> None:
        if page < 0:
            page = PAGE if key.startswith("part:") else 0
        with self._folded(key):
            filled = self.model.set_children(key, items, missing, page)
        node = self.model.node_for_key(key)
        if filled and node is not None:
            self._restore_rows(node.children)

    def _page(self, key: str, items: list[BrowseNode], missing: set[str]) -> None:
        with self._folded(key):
            self.model.append_page(key, items, missing)

    def _children_failed(self, keys: list[str], exc: Exception) -> None:
        for key in keys:
            with self._folded(key):
                self.model.load_failed(key, str(exc))
        self._failed(exc)

    def _load_more(self, key: str) -> None:
        node = self.model.node_for_key(key)
        if node is None or node.item is None or node.item.part_id is None:
            return
        part_id, offset = node.item.part_id, node.ranked

        def work(backend: Backend) -> tuple[list[BrowseNode], set[str]]:
            items = backend.browse_versions(part_id, offset, PAGE)
            return items, missing_files(items)

        def done(answer: tuple[list[BrowseNode], set[str]]) -> None:
            self._later(partial(self._page, key, *answer))

        self.loader.submit(work, done, lambda exc: self._children_failed([key], exc))

    def _failed(self, exc: Exception) -> None:
        self.banner.show_error(f"pm did not answer: {exc}")
        self.status.setText("Error")

    def _busy(self, busy: bool) -> None:
        if busy:
            self.status.setText("Loading…")
        elif self.status.text() == "Loading…":
            count = len(self.model.root.children)
            self.status.setText(f"{count} project{'s' if count != 1 else ''}")

    # Expansion state ------------------------------------------------------------------

    def node_at(self, index: QtCore.QModelIndex) -> Node | None:
        """The node of a row of the view."""
        return self.model.node(index)

    def view_index(self, node: Node) -> QtCore.QModelIndex:
        """The view's index of `node`."""
        return self.model.index_for(node)

    def _opened(self, index: QtCore.QModelIndex) -> None:
        node = self.node_at(index)
        if node is not None and not self._quiet:
            self._expanded.add(node.key)
            self.model.expand(node)

    def _closed(self, index: QtCore.QModelIndex) -> None:
        node = self.node_at(index)
        if node is not None and not self._quiet:
            self._expanded.discard(node.key)

    def _expanded_keys(self) -> set[str]:
        return {key for key in self._expanded if self.model.node_for_key(key) is not None}

    def _restore_rows(self, nodes: Iterable[Node]) -> None:
        for node in list(nodes):
            if node.key in self._restore:
                self._restore.discard(node.key)
                self._expand(node)
            if node.key == self._restore_current:
                self._restore_current = None
                self.select(node)

    def expand_key(self, key: str) -> bool:
        """Expand the loaded node `key` (loading its level); False if it is not loaded."""
        node = self.model.node_for_key(key)
        if node is None:
            return False
        self._expand(node)
        return True

    def _expand(self, node: Node) -> None:
        """Expand `node` in the view (loading its level), or remember to once it shows."""
        self._expanded.add(node.key)
        index = self.view_index(node)
        if index.isValid():
            self.tree.expand(index)
        self.model.expand(node)

    def select(self, node: Node) -> None:
        """Make `node` the current row, scrolled into view."""
        index = self.view_index(node)
        if index.isValid():
            self.tree.setCurrentIndex(index)
            self.tree.scrollTo(index)

    def current_node(self) -> Node | None:
        return self.node_at(self.tree.currentIndex())

    def reload(self, keys: Iterable[str]) -> None:
        """Load the levels under `keys` again (after an action changed them)."""
        current = self.current_node()
        if current is not None and current.item is not None:
            self._restore_current = current.key
        for key in keys:
            node = self.model.node_for_key(key)
            if node is None:
                continue
            expanded = {k for k in self._expanded_keys() if self._is_under(k, node)}
            self._restore |= expanded
            with self._folded(key):
                self.model.unload(key)
            self._expand(node)

    def _is_under(self, key: str, owner: Node) -> bool:
        node = self.model.node_for_key(key)
        return node is not None and (node is owner or owner in set(node.ancestors()))

    # Search ---------------------------------------------------------------------------

    def _latest_only_changed(self, latest_only: bool) -> None:
        self.filter.set_latest_only(latest_only)

    def _filter_changed(self, text: str) -> None:
        self.filter.set_text(text)
        if text.strip():
            self._search_timer.start()
        else:
            self._search_timer.stop()

    def _search(self) -> None:
        text = self.search.text().strip()
        if not text:
            return
        loaded = self.model.loaded_keys()

        def work(backend: Backend) -> tuple[list[list[str]], list[BrowseNode], set[str]]:
            chains = backend.browse_search(text)
            fetched: list[BrowseNode] = []
            known = set(loaded)
            depth = 0
            while True:
                keys = sorted(
                    {c[depth] for c in chains if len(c) > depth + 1 and c[depth] not in known}
                )
                if not keys and not any(len(c) > depth + 1 for c in chains):
                    break
                if keys:
                    fetched += backend.browse_children(keys, PAGE)
                    known |= set(keys)
                depth += 1
            return chains, fetched, missing_files(fetched)

        self.loader.submit(work, lambda answer: self._found(text, *answer), self._failed)

    def _found(
        self, text: str, chains: list[list[str]], items: list[BrowseNode], missing: set[str]
    ) -> None:
        if self.search.text().strip() != text:
            return
        by_parent: dict[str, list[BrowseNode]] = defaultdict(list)
        for item in items:
            by_parent[item.parent or ""].append(item)
        fills = []
        for chain in sorted(chains, key=len):
            for key in chain[:-1]:
                if key in by_parent:
                    fills.append(partial(self._fill, key, by_parent.pop(key), missing, 0))
        self._later(*fills, partial(self._show_matches, text, chains))

    def _show_matches(self, text: str, chains: list[list[str]]) -> None:
        if self.search.text().strip() != text:
            return
        for chain in chains[:MAX_SEARCH_EXPAND]:
            for key in chain[:-1]:
                node = self.model.node_for_key(key)
                if node is not None and node.loaded:
                    self._expand(node)
        self.status.setText(
            f"{len(chains)} match{'es' if len(chains) != 1 else ''} for “{text}”"
            if chains
            else f"Nothing matches “{text}”"
        )

    # Selection and actions ------------------------------------------------------------

    def _current_changed(self, current: QtCore.QModelIndex, _previous: Any) -> None:
        node = self.node_at(current)
        if node is not None and node.item is None:
            node = None
        self.details.show_node(node)
        self._update_actions(node)

    def _clicked(self, index: QtCore.QModelIndex) -> None:
        node = self.node_at(index)
        if node is None:
            return
        if node.kind == "more":
            with self._folded(node.parent.key if node.parent is not None else ""):
                self.model.request_more(node)
        elif node.kind == "error" and node.parent is not None:
            self.reload([node.parent.key])

    def _double_clicked(self, index: QtCore.QModelIndex) -> None:
        node = self.node_at(index)
        if node is not None and node.kind in ("part", "publish", "usd_asset") and lop.available():
            self.run_action("sublayer")

    def action_state(self, node: Node | None) -> dict[str, tuple[bool, str]]:
        """Which actions apply to `node`, and why not when they do not."""
        item = node.item if node is not None else None
        houdini = lop.available()
        outside = "needs a Houdini session"
        state: dict[str, tuple[bool, str]] = {}
        layer = item is not None and item.kind in ("usd_asset", "part", "publish")
        has_file = layer and bool(item and item.path) and not (node and node.missing)
        if item is not None and item.kind == "publish" and item.status not in FILE_STATUSES:
            has_file = False
        reason = outside if not houdini else ("no file to load" if layer else "select a layer")
        for mode in ("sublayer", "reference"):
            state[mode] = (houdini and has_file, reason)
        publish = item is not None and item.kind == "publish"
        scene = publish and bool(item and item.scene_path)
        state["open_scene"] = (houdini and scene, outside if not houdini else "select a version")
        published = publish and item is not None and item.status == "published"
        missing = node is not None and node.missing
        state["pin"] = (
            published and item is not None and not item.pinned and not missing,
            "its data layer is missing on disk: restore it, or pin another version"
            if published and missing
            else "select a published version that is not pinned",
        )
        pinned = item is not None and item.kind in ("part", "publish") and item.pinned
        state["unpin"] = (pinned, "select a pinned part or version")
        state["deprecate"] = (published, "select a published version")
        return state

    def _update_actions(self, node: Node | None) -> None:
        for name, (enabled, reason) in self.action_state(node).items():
            self.details.set_action(name, enabled, reason)

    def _context_menu(self, point: QtCore.QPoint) -> None:
        node = self.current_node()
        if node is None or node.item is None:
            return
        menu = QtWidgets.QMenu(self)
        if node.item.path:
            path = node.item.path
            menu.addAction("Copy Path", lambda: self.copy(path))
        labels = {name: label for name, label, _ in ACTIONS}
        for name, (enabled, _) in self.action_state(node).items():
            if enabled:
                menu.addAction(labels[name], partial(self.run_action, name))
        menu.exec(self.tree.viewport().mapToGlobal(point))

    def _copy_current(self) -> None:
        node = self.current_node()
        if node is not None and node.item is not None and node.item.path:
            self.copy(node.item.path)

    def copy(self, text: str) -> None:
        QtGui.QGuiApplication.clipboard().setText(text)
        self.status.setText(f"Copied {text}")

    def confirm(self, title: str, text: str) -> bool:
        """Ask before a change that others will notice (tests answer for the artist)."""
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
        box.setWindowTitle(title)
        box.setText(text)
        box.setStandardButtons(
            QtWidgets.QMessageBox.StandardButton.Ok | QtWidgets.QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        return exec_dialog(box) == QtWidgets.QMessageBox.StandardButton.Ok

    def report(self, action: str, exc: Exception) -> None:
        """Show a failed action to the artist."""
        self.status.setText(f"{action} failed: {exc}")
        QtWidgets.QMessageBox.warning(self, "pm", f"{action} failed.\n\n{exc}")

    def run_action(self, name: str) -> None:
        """Run the action `name` on the current row (see details.ACTIONS)."""
        node = self.current_node()
        if node is None or node.item is None or not self.action_state(node)[name][0]:
            return
        item = node.item
        if name in ("sublayer", "reference"):
            self._add_layer(node, item, name)
        elif name == "open_scene" and item.scene_path:
            self._local("Open scene", lambda: lop.open_scene(item.scene_path or ""))
        elif name == "pin":
            self._change(node, "Pin", lambda b: b.pin_part(self._part_request(item, True)))
        elif name == "unpin":
            self._change(node, "Unpin", lambda b: b.unpin_part(self._part_request(item, False)))
        elif name == "deprecate" and self.confirm(
            "Deprecate version",
            f"Deprecate {item.part_name} {item.version}?\n\n"
            "It stops being used; the previous published version becomes latest. "
            "The file stays on disk and the history keeps it.",
        ):
            self._change(node, "Deprecate", lambda b: b.deprecate_publish(item.publish_id or 0))

    def _add_layer(self, node: Node, item: BrowseNode, mode: str) -> None:
        asset, part = item.asset_name or item.name, item.part_name
        name = f"{asset}_{part}" if part else asset
        prim = f"/{asset}/{part}" if part else f"/{asset}"
        path = item.path or ""
        added = self._local(f"Add {name}", lambda: lop.add_layer(path, mode, name, prim))
        if added is not None:
            self.status.setText(f"Added {name} as a {mode}: {path}")

    def _local(self, action: str, work: Callable[[], Any]) -> Any:
        try:
            result = work()
        except Exception as exc:
            self.report(action, exc)
            return None
        return result if result is not None else True

    def _part_request(self, item: BrowseNode, with_publish: bool) -> dict[str, Any]:
        request: dict[str, Any] = {"part": item.part_id}
        if with_publish:
            request["publish"] = item.publish_id
        artist = os.environ.get("PM_ARTIST")
        if artist:
            request["artist"] = artist
        return request

    def _change(self, node: Node, action: str, work: Callable[[Backend], Any]) -> None:
        """Run a database change off the UI thread, then reload the rows it touched."""
        part = node if node.kind == "part" else node.parent
        usd_asset = part.parent if part is not None else None
        self.status.setText(f"{action}…")

        def done(_result: Any) -> None:
            self.status.setText(f"{action}: done")
            keys = [usd_asset.key] if usd_asset is not None else []
            if part is not None and part.loaded:
                self._restore.add(part.key)
            self.reload(keys)

        self.loader.submit(work, done, lambda exc: self.report(action, exc))

    # Lifetime ---------------------------------------------------------------------------

    def is_idle(self) -> bool:
        """True when no query is running or waiting to start."""
        timers = self._flush.isActive() or self._search_timer.isActive()
        return not self.loader.busy and not self._queued and not self._tasks and not timers

    def shutdown(self) -> None:
        """Wait for running queries and drop their answers (the panel is closing)."""
        self.loader.forget()
        self._tasks.clear()
        self._search_timer.stop()
        self.loader.wait()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


def create_panel() -> AssetBrowser:
    """The widget the Python panel shows (pm_asset_browser.pypanel)."""
    return AssetBrowser()
