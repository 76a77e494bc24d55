"""The browser's Qt model: a lazily filled tree of pm nodes, and the filter over it.

The rows live in a `QStandardItemModel`, so painting and scrolling run in Qt's C++ without
calling Python: the view stays fluid with thousands of rows, even while a worker thread
holds Python's interpreter lock. Python keeps a `Node` per row (its pm item and loading
state), found by the key stored in the row.

A node with children not loaded yet holds one "Loading…" row, so the view draws its
expand arrow; expanding it asks for the level (`BrowseModel.expand` emits
`fetch_requested`). A part's versions come in pages with a "Show more" row. `RowFilter`
applies the search text and "latest only" by hiding rows of the view.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pm_houdini.browser import style
from pm_houdini.qt import QtCore, QtGui, QtWidgets, Signal

if TYPE_CHECKING:
    from pm_db.views import BrowseNode

COLUMNS = ("Name", "Status", "Artist", "Published", "Details")
NAME, STATUS, ARTIST, TIME, INFO = range(len(COLUMNS))
PLACEHOLDERS = ("loading", "more", "error")
_ROLES = QtCore.Qt.ItemDataRole
KEY_ROLE = _ROLES.UserRole + 1


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def when(moment: datetime | None) -> str:
    """A timestamp in the artist's local time, to the minute."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""


class Node:
    """One row of the tree: a pm node (`item`), or a placeholder (loading, more, error)."""

    __slots__ = (
        "cells",
        "children",
        "extras",
        "is_placeholder",
        "item",
        "key",
        "kind",
        "loaded",
        "loading",
        "missing",
        "parent",
        "qitem",
        "ranked",
        "search",
        "status_key",
    )

    def __init__(
        self,
        kind: str,
        key: str,
        parent: Node | None,
        item: BrowseNode | None = None,
        text: str = "",
        missing: bool = False,
    ) -> None:
        self.kind = kind
        self.is_placeholder = kind in PLACEHOLDERS
        self.key = key
        self.parent = parent
        self.item = item
        self.children: list[Node] = []
        self.loaded = False
        self.loading = False
        self.missing = missing
        self.ranked = 0
        self.extras: list[str] = []
        self.qitem: QtGui.QStandardItem | None = None
        self.cells = _cells(item, missing) if item is not None else (text, "", "", "", "")
        self.status_key = _status_key(item, missing) if item is not None else ""
        searchable = item is not None and item.kind != "publish"
        self.search = self.cells[0].lower() if searchable else ""

    @property
    def expected(self) -> int:
        """How many rows the next level holds, by the database's count."""
        return self.item.children if self.item is not None else 0

    @property
    def expandable(self) -> bool:
        return self.item is not None and self.kind != "publish" and self.expected > 0

    def ancestors(self) -> Iterable[Node]:
        node = self.parent
        while node is not None and node.parent is not None:
            yield node
            node = node.parent


def _status_key(item: BrowseNode, missing: bool) -> str:
    if missing:
        return "missing"
    if item.kind == "part":
        if item.withdrawn:
            return "withdrawn"
        return "pinned" if item.pinned else item.status or ""
    if item.kind == "publish":
        return item.status or ""
    return ""


def _status_text(item: BrowseNode, missing: bool) -> str:
    if item.kind == "part":
        words = ["withdrawn"] if item.withdrawn else []
        if item.pinned:
            words.append(f"pinned {item.version}")
        elif item.status == "published":
            words.append(f"latest {item.version}")
        else:
            words.append(f"{item.status} {item.version}")
    elif item.kind == "publish":
        words = [item.status or ""]
        words += [w for w, flag in (("latest", item.latest), ("pinned", item.pinned)) if flag]
    else:
        return "missing file" if missing else ""
    if missing:
        words.append("missing file")
    return " · ".join(w for w in words if w)


def _cells(item: BrowseNode, missing: bool) -> tuple[str, str, str, str, str]:
    kind = item.kind
    name = item.name
    if kind == "project":
        info = item.info
    elif kind == "sequence":
        info = plural(item.children, "shot")
    elif kind in ("shot", "asset"):
        info = f"{item.info} · {plural(item.children, 'USD asset')}"
    elif kind == "usd_asset":
        info = f"{plural(item.children, 'part')} · {item.info}"
    elif kind == "part":
        info = plural(item.children, "version")
    else:
        name, info = item.version or item.name, item.name
    return (name, _status_text(item, missing), item.artist or "", when(item.time), info)


class _Fonts:
    def __init__(self) -> None:
        self.bold = QtGui.QFont()
        self.bold.setBold(True)
        self.italic = QtGui.QFont()
        self.italic.setItalic(True)
        self.struck = QtGui.QFont()
        self.struck.setStrikeOut(True)


class BrowseModel(QtGui.QStandardItemModel):
    """The loaded part of pm's tree; see the module docstring."""

    fetch_requested = Signal(str)
    more_requested = Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.root = Node("root", "", None)
        self.root.loaded = True
        self._by_key: dict[str, Node] = {}
        self._fonts = _Fonts()

    # Access ---------------------------------------------------------------------------

    def node(self, index: QtCore.QModelIndex) -> Node | None:
        """The node of a row of this model (any column), or None."""
        if not index.isValid():
            return None
        key = index.siblingAtColumn(NAME).data(KEY_ROLE)
        return self._by_key.get(key) if key else None

    def node_for_key(self, key: str) -> Node | None:
        return self._by_key.get(key)

    def index_for(self, node: Node) -> QtCore.QModelIndex:
        return node.qitem.index() if node.qitem is not None else QtCore.QModelIndex()

    def loaded_keys(self) -> set[str]:
        """Keys of the nodes whose next level is loaded."""
        return {key for key, node in self._by_key.items() if node.loaded}

    def walk(self) -> Iterable[Node]:
        """Every node in the tree (placeholders included), depth first."""
        stack = list(reversed(self.root.children))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    # Changes --------------------------------------------------------------------------

    def set_roots(self, items: Sequence[BrowseNode]) -> None:
        """Replace the whole tree by the given projects (nothing below them loaded)."""
        # One reset, not a removal per row: the filters and the view drop it all at once.
        self.clear()
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.root.children = []
        self._by_key = {}
        self._append(self.root, items, set())

    def expand(self, node: Node) -> bool:
        """The view opened `node`: ask for its level unless it is loaded or on its way."""
        if node.loaded or node.loading or not node.expandable:
            return False
        node.loading = True
        self.fetch_requested.emit(node.key)
        return True

    def set_children(
        self, key: str, items: Sequence[BrowseNode], missing: set[str], page: int = 0
    ) -> bool:
        """Put the loaded level `items` under the node `key` (their order kept); a part's
        first `page` items are its ranked versions, any others its latest/pinned ones
        further down the history. False if the node is gone or already loaded."""
        node = self._by_key.get(key)
        if node is None or node.loaded:
            return False
        node.loading = False
        node.loaded = True
        ranked = list(items[:page]) if page else list(items)
        extras = list(items[page:]) if page else []
        node.ranked = len(ranked)
        self._clear_placeholders(node)
        self._append(node, ranked, missing)
        self._finish_versions(node, extras, missing)
        return True

    def append_page(self, key: str, items: Sequence[BrowseNode], missing: set[str]) -> bool:
        """Add the next page of a part's versions; False if the part is gone."""
        node = self._by_key.get(key)
        if node is None:
            return False
        node.loading = False
        self._clear_placeholders(node)
        stale = [self._by_key[k] for k in node.extras if k in self._by_key]
        self._remove(node, stale)
        known = {child.key for child in node.children}
        node.ranked += len(items)
        self._append(node, [item for item in items if item.key not in known], missing)
        kept = [n.item for n in stale if n.item is not None]
        self._finish_versions(node, kept, missing)
        return True

    def load_failed(self, key: str, message: str) -> None:
        """Show why a level could not be loaded under its node; clicking it retries."""
        node = self._by_key.get(key)
        if node is None:
            return
        node.loading = False
        self._clear_placeholders(node)
        self._add_placeholder(node, "error", f"Could not load: {message}")

    def request_more(self, node: Node) -> None:
        """The "Show more" row was chosen: load the next page of its part."""
        owner = node.parent
        if owner is None or owner.loading:
            return
        owner.loading = True
        self._clear_placeholders(owner)
        self._add_placeholder(owner, "loading", "Loading…")
        self.more_requested.emit(owner.key)

    def unload(self, key: str) -> None:
        """Forget the level under `key`, so it loads again the next time it is opened."""
        node = self._by_key.get(key)
        if node is None:
            return
        self._remove(node, list(node.children))
        node.loaded = False
        node.loading = False
        node.ranked = 0
        node.extras = []
        if node.expandable:
            self._add_placeholder(node, "loading", "Loading…")

    def _finish_versions(self, node: Node, extras: Sequence[BrowseNode], missing: set[str]) -> None:
        if node.kind != "part":
            return
        known = {child.key for child in node.children}
        tail = [item for item in extras if item.key not in known]
        self._append(node, tail, missing)
        node.extras = [item.key for item in tail]
        left = node.expected - node.ranked
        if left > 0:
            self._add_placeholder(node, "more", f"Show more ({left:,} older)")

    def _append(self, owner: Node, items: Sequence[BrowseNode], missing: set[str]) -> None:
        parent = owner.qitem if owner.qitem is not None else self.invisibleRootItem()
        for item in items:
            if item.key in self._by_key:
                continue
            child = Node(item.kind, item.key, owner, item, missing=item.key in missing)
            owner.children.append(child)
            self._by_key[child.key] = child
            parent.appendRow(self._row(child))
            if child.expandable:
                self._add_placeholder(child, "loading", "Loading…")

    def _add_placeholder(self, owner: Node, kind: str, text: str) -> None:
        placeholder = Node(kind, f"{owner.key}#{kind}", owner, text=text)
        owner.children.append(placeholder)
        self._by_key[placeholder.key] = placeholder
        assert owner.qitem is not None
        owner.qitem.appendRow(self._row(placeholder))

    def _clear_placeholders(self, owner: Node) -> None:
        self._remove(owner, [child for child in owner.children if child.is_placeholder])

    def _remove(self, owner: Node, nodes: list[Node]) -> None:
        """Remove `nodes` (children of `owner`) and everything under them."""
        parent = owner.qitem if owner.qitem is not None else self.invisibleRootItem()
        for node in nodes:
            if node.qitem is None or node not in owner.children:
                continue
            parent.removeRow(node.qitem.row())
            owner.children.remove(node)
            self._forget(node)

    def _forget(self, node: Node) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            current.qitem = None
            if self._by_key.get(current.key) is current:
                del self._by_key[current.key]
            stack.extend(current.children)

    def _row(self, node: Node) -> list[QtGui.QStandardItem]:
        """The row of standard items showing `node`; column 0 carries its key."""
        # Not editable in practice: the view has no edit triggers.
        cells = [QtGui.QStandardItem(text) for text in node.cells]
        first = cells[NAME]
        node.qitem = first
        first.setData(node.key, KEY_ROLE)
        self._decorate(node, cells)
        return cells

    def _decorate(self, node: Node, cells: list[QtGui.QStandardItem]) -> None:
        fonts = self._fonts
        item = node.item
        if item is None:
            for cell in cells:
                cell.setFont(fonts.italic)
                cell.setForeground(style.colour("failed" if node.kind == "error" else "muted"))
            if node.kind == "loading":
                cells[NAME].setSelectable(False)
            cells[NAME].setToolTip(node.cells[0])
            return
        if item.kind == "publish":
            cells[NAME].setIcon(style.status_icon(node.status_key or "pending"))
        else:
            cells[NAME].setIcon(style.kind_icon(item.kind))
        if node.status_key:
            cells[STATUS].setIcon(style.status_icon(node.status_key))
            cells[STATUS].setForeground(style.colour(node.status_key))
        for column in (TIME, INFO):
            cells[column].setForeground(style.colour("muted"))
        if node.status_key in ("deprecated", "withdrawn"):
            for column in (NAME, ARTIST):
                cells[column].setForeground(style.colour(node.status_key))
        if item.kind == "publish" and item.status == "deprecated":
            cells[NAME].setFont(fonts.struck)
        elif (item.kind == "publish" and (item.latest or item.pinned)) or item.kind == "project":
            cells[NAME].setFont(fonts.bold)
        tip = item.path or item.info or ""
        if node.missing:
            tip = f"The file is missing:\n{item.path}"
        elif item.kind == "publish" and item.error:
            tip = f"{item.status}: {item.error}"
        if tip:
            cells[NAME].setToolTip(tip)


class RowFilter:
    """Search text and "latest only", applied by hiding rows of the view.

    A row shows if its name holds the text (case-insensitive), if an ancestor's does (so
    everything under a matching shot shows), or if a row under it does (so the way to a
    match shows). "Latest only" hides the versions that are neither latest nor pinned.
    Only the top-most rows whose state changes are touched (under a hidden row, rows keep
    whatever state they had), hidden rows keep their expanded state, and the model is never
    re-filtered by Qt: a keystroke costs a walk over the loaded nodes, and typing on only
    visits the rows still shown.
    """

    def __init__(self, view: QtWidgets.QTreeView, model: BrowseModel) -> None:
        self.view = view
        self.model = model
        self.text = ""
        self.latest_only = False
        self._hidden: dict[str, QtGui.QStandardItem] = {}

    @property
    def active(self) -> bool:
        return bool(self.text) or self.latest_only

    def set_text(self, text: str) -> bool:
        """Filter by `text` ('' shows everything); True if that changed anything."""
        wanted = text.strip().lower()
        if wanted == self.text:
            return False
        # Typing on only hides more: rows hidden now stay hidden and need no visit.
        narrowing = bool(self.text) and wanted.startswith(self.text)
        self.text = wanted
        self.apply(narrowing)
        return True

    def set_latest_only(self, latest_only: bool) -> None:
        if latest_only != self.latest_only:
            self.latest_only = latest_only
            self.apply()

    def apply(self, narrowing: bool = False) -> None:
        """Hide and show rows to match the current text and toggle."""
        if not self.active:
            for key, qitem in list(self._hidden.items()):
                shown = self.model.node_for_key(key)
                if shown is not None and shown.qitem is qitem:
                    self._set_hidden(shown, False)
            self._hidden.clear()
            return
        changes: list[tuple[Node, bool]] = []
        for child in self.model.root.children:
            self._walk(child, False, narrowing, changes)
        for node, hidden in changes:
            self._set_hidden(node, hidden)
        if not narrowing:
            self._hidden = {
                key: qitem
                for key, qitem in self._hidden.items()
                if (kept := self.model.node_for_key(key)) is not None and kept.qitem is qitem
            }

    def _is_hidden(self, node: Node) -> bool:
        qitem = self._hidden.get(node.key)
        return qitem is not None and qitem is node.qitem

    def _walk(
        self, node: Node, inherited: bool, narrowing: bool, changes: list[tuple[Node, bool]]
    ) -> bool:
        """Whether `node` shows; appends the rows whose state must change."""
        hidden_now = self._is_hidden(node)
        if narrowing and hidden_now:
            return False
        text = self.text
        if node.is_placeholder:
            shown = (inherited or not text) and not (self.latest_only and node.kind == "more")
        else:
            matched = inherited or not text or (text in node.search)
            below = False
            inside: list[tuple[Node, bool]] = []
            for child in node.children:
                below = self._walk(child, matched, narrowing, inside) or below
            shown = matched or below
            item = node.item
            if self.latest_only and item is not None and item.kind == "publish":
                shown = shown and (item.latest or item.pinned)
            # Under a hidden row nothing shows whatever its own state: leave it be.
            if shown:
                changes.extend(inside)
        if shown == hidden_now:
            changes.append((node, not shown))
        return shown

    def _set_hidden(self, node: Node, hidden: bool) -> None:
        if node.qitem is None:
            return
        parent = node.parent.qitem if node.parent is not None else None
        index = parent.index() if parent is not None else QtCore.QModelIndex()
        self.view.setRowHidden(node.qitem.row(), index, hidden)
        if hidden:
            self._hidden[node.key] = node.qitem
        else:
            self._hidden.pop(node.key, None)
