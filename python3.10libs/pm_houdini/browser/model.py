"""The browser's Qt model: a lazily filled tree of pm nodes, and the filter in front of it.

`BrowseModel` holds only what has been loaded. A level is asked for when the view expands
a node (`canFetchMore`/`fetchMore` emit `fetch_requested`); a "Loading..." row stands in
until the answer arrives. A part's versions come in pages with a "Show more" row.
`BrowseFilter` shows rows whose name, or an ancestor's name, holds the search text, plus
the ancestors of such rows; "latest only" hides the versions that are neither latest
nor pinned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pm_houdini.browser import style
from pm_houdini.qt import QtCore, QtGui, Signal, change_filter

if TYPE_CHECKING:
    from pm_db.services.browse import BrowseNode

COLUMNS = ("Name", "Status", "Artist", "Published", "Details")
NAME, STATUS, ARTIST, TIME, INFO = range(len(COLUMNS))
PLACEHOLDERS = ("loading", "more", "error")
NODE_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
Index = QtCore.QModelIndex | QtCore.QPersistentModelIndex
NO_INDEX = QtCore.QModelIndex()
_ROLES = QtCore.Qt.ItemDataRole


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
        "item",
        "key",
        "kind",
        "loaded",
        "loading",
        "lower",
        "missing",
        "parent",
        "ranked",
        "row",
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
        self.key = key
        self.parent = parent
        self.item = item
        self.children: list[Node] = []
        self.row = 0
        self.loaded = False
        self.loading = False
        self.missing = missing
        self.ranked = 0
        self.extras: list[str] = []
        self.cells = _cells(item, missing) if item is not None else (text, "", "", "", "")
        self.lower = self.cells[0].lower()
        self.status_key = _status_key(item, missing) if item is not None else ""

    @property
    def expected(self) -> int:
        """How many rows the next level holds, by the database's count."""
        return self.item.children if self.item is not None else 0

    @property
    def is_placeholder(self) -> bool:
        return self.kind in PLACEHOLDERS

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


def _numbers(version: int | None, iteration: int | None) -> str:
    if version is None or iteration is None:
        return ""
    return f"v{version:03d} i{iteration:03d}"


class BrowseModel(QtCore.QAbstractItemModel):
    """The loaded part of pm's tree; see the module docstring."""

    fetch_requested = Signal(str)
    more_requested = Signal(str)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.root = Node("root", "", None)
        self.root.loaded = True
        self._by_key: dict[str, Node] = {}
        self._bold = QtGui.QFont()
        self._bold.setBold(True)
        self._italic = QtGui.QFont()
        self._italic.setItalic(True)
        self._struck = QtGui.QFont()
        self._struck.setStrikeOut(True)

    # Access ---------------------------------------------------------------------------

    def node(self, index: Index) -> Node:
        """The node behind `index` (the invisible root for an invalid index)."""
        if not index.isValid():
            return self.root
        node: Node = index.internalPointer()
        return node

    def node_for_key(self, key: str) -> Node | None:
        return self._by_key.get(key)

    def index_for(self, node: Node, column: int = 0) -> QtCore.QModelIndex:
        if node is self.root or node.parent is None:
            return QtCore.QModelIndex()
        return self.createIndex(node.row, column, node)

    def loaded_keys(self) -> set[str]:
        """Keys of the nodes whose next level is loaded."""
        return {key for key, node in self._by_key.items() if node.loaded}

    def walk(self) -> Iterable[Node]:
        """Every loaded node, depth first."""
        stack = list(reversed(self.root.children))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    # Qt's model interface -------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = NO_INDEX) -> QtCore.QModelIndex:
        owner = self.node(parent)
        if not 0 <= row < len(owner.children) or not 0 <= column < len(COLUMNS):
            return QtCore.QModelIndex()
        return self.createIndex(row, column, owner.children[row])

    def parent(self, index: Index = NO_INDEX) -> QtCore.QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QtCore.QModelIndex()
        owner = self.node(index).parent
        if owner is None or owner is self.root:
            return QtCore.QModelIndex()
        return self.createIndex(owner.row, 0, owner)

    def rowCount(self, parent: Index = NO_INDEX) -> int:
        if parent.column() > 0:
            return 0
        return len(self.node(parent).children)

    def columnCount(self, parent: Index = NO_INDEX) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: Index = NO_INDEX) -> bool:
        node = self.node(parent)
        if node.children:
            return True
        return not node.is_placeholder and not node.loaded and node.expected > 0

    def canFetchMore(self, parent: Index) -> bool:
        node = self.node(parent)
        return node is not self.root and not node.loaded and not node.loading and node.expected > 0

    def fetchMore(self, parent: Index) -> None:
        node = self.node(parent)
        if self.canFetchMore(parent):
            self.start_loading(node)
            self.fetch_requested.emit(node.key)

    def headerData(
        self,
        section: int,
        orientation: QtCore.Qt.Orientation,
        role: int = _ROLES.DisplayRole,
    ) -> Any:
        horizontal = orientation == QtCore.Qt.Orientation.Horizontal
        if horizontal and role == _ROLES.DisplayRole and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> QtCore.Qt.ItemFlag:
        if not index.isValid():
            return QtCore.Qt.ItemFlag.NoItemFlags
        flags = QtCore.Qt.ItemFlag.ItemIsEnabled
        if not self.node(index).is_placeholder or self.node(index).kind == "more":
            flags |= QtCore.Qt.ItemFlag.ItemIsSelectable
        return flags

    def data(self, index: Index, role: int = _ROLES.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node: Node = index.internalPointer()
        column = index.column()
        if role == _ROLES.DisplayRole:
            return node.cells[column]
        if role == NODE_ROLE:
            return node
        if role == _ROLES.DecorationRole:
            return self._decoration(node, column)
        if role == _ROLES.ForegroundRole:
            return self._foreground(node, column)
        if role == _ROLES.FontRole:
            return self._font(node, column)
        if role == _ROLES.ToolTipRole:
            return self._tooltip(node, column)
        return None

    def _decoration(self, node: Node, column: int) -> Any:
        if column == NAME and node.item is not None:
            if node.kind == "publish":
                return style.status_icon(node.status_key or "pending")
            return style.kind_icon(node.kind)
        if column == STATUS and node.status_key:
            return style.status_icon(node.status_key)
        return None

    def _foreground(self, node: Node, column: int) -> Any:
        if node.is_placeholder:
            return style.colour("failed" if node.kind == "error" else "muted")
        if node.status_key in ("deprecated", "withdrawn"):
            return style.colour(node.status_key)
        if column == STATUS and node.status_key:
            return style.colour(node.status_key)
        if column in (INFO, TIME):
            return style.colour("muted")
        return None

    def _font(self, node: Node, column: int) -> Any:
        if node.is_placeholder:
            return self._italic
        item = node.item
        if item is None:
            return None
        if item.kind == "publish" and item.status == "deprecated" and column == NAME:
            return self._struck
        if item.kind == "publish" and (item.latest or item.pinned):
            return self._bold
        if item.kind == "project" and column == NAME:
            return self._bold
        return None

    def _tooltip(self, node: Node, column: int) -> Any:
        item = node.item
        if item is None:
            return node.cells[0]
        if node.missing:
            return f"The file is missing:\n{item.path}"
        if item.kind == "publish" and item.error:
            return f"{item.status}: {item.error}"
        return item.path or item.info or None

    # Changes --------------------------------------------------------------------------

    def set_roots(self, items: Sequence[BrowseNode]) -> None:
        """Replace the whole tree by the given projects (nothing below them loaded)."""
        self.beginResetModel()
        self.root.children = []
        self._by_key = {}
        for row, item in enumerate(items):
            node = Node(item.kind, item.key, self.root, item)
            node.row = row
            self.root.children.append(node)
            self._by_key[node.key] = node
        self.endResetModel()

    def start_loading(self, node: Node) -> None:
        """Mark `node` as loading and show a "Loading..." row under it."""
        node.loading = True
        self._replace_placeholders(
            node, [Node("loading", f"{node.key}#loading", node, text="Loading…")]
        )

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
        self._replace_placeholders(node, [])
        self._append(node, ranked, missing)
        self._finish_versions(node, extras, missing)
        return True

    def append_page(self, key: str, items: Sequence[BrowseNode], missing: set[str]) -> bool:
        """Add the next page of a part's versions; False if the part is gone."""
        node = self._by_key.get(key)
        if node is None:
            return False
        node.loading = False
        self._replace_placeholders(node, [])
        stale = [self._by_key[k] for k in node.extras if k in self._by_key]
        self._remove(node, stale)
        known = {child.key for child in node.children}
        page = [item for item in items if item.key not in known]
        node.ranked += len(items)
        self._append(node, page, missing)
        kept = [n.item for n in stale if n.item is not None]
        self._finish_versions(node, kept, missing)
        return True

    def load_failed(self, key: str, message: str) -> None:
        """Show why a level could not be loaded under its node; expanding again retries."""
        node = self._by_key.get(key)
        if node is None:
            return
        node.loading = False
        error = Node("error", f"{key}#error", node, text=f"Could not load: {message}")
        self._replace_placeholders(node, [error])

    def request_more(self, node: Node) -> None:
        """The "Show more" row was chosen: load the next page of its part."""
        owner = node.parent
        if owner is None or owner.loading:
            return
        owner.loading = True
        loading = Node("loading", f"{owner.key}#loading", owner, text="Loading…")
        self._replace_placeholders(owner, [loading])
        self.more_requested.emit(owner.key)

    def unload(self, key: str) -> None:
        """Forget the level under `key`, so it loads again the next time it is needed."""
        node = self._by_key.get(key)
        if node is None:
            return
        self._remove(node, list(node.children))
        node.loaded = False
        node.loading = False
        node.ranked = 0
        node.extras = []

    def replace_item(self, item: BrowseNode, missing: bool) -> None:
        """Refresh one row in place from a newer copy of its item."""
        node = self._by_key.get(item.key)
        if node is None or node.parent is None:
            return
        node.item = item
        node.missing = missing
        node.cells = _cells(item, missing)
        node.lower = node.cells[0].lower()
        node.status_key = _status_key(item, missing)
        first = self.index_for(node, 0)
        last = self.index_for(node, len(COLUMNS) - 1)
        self.dataChanged.emit(first, last)

    def _finish_versions(self, node: Node, extras: Sequence[BrowseNode], missing: set[str]) -> None:
        if node.kind != "part":
            return
        known = {child.key for child in node.children}
        tail = [item for item in extras if item.key not in known]
        self._append(node, tail, missing)
        node.extras = [item.key for item in tail]
        left = node.expected - node.ranked
        if left > 0:
            more = Node("more", f"{node.key}#more", node, text=f"Show more ({left:,} older)")
            self._replace_placeholders(node, [more])

    def _append(self, owner: Node, items: Sequence[BrowseNode], missing: set[str]) -> None:
        fresh = [item for item in items if item.key not in self._by_key]
        if not fresh:
            return
        first = len(owner.children)
        self.beginInsertRows(self.index_for(owner), first, first + len(fresh) - 1)
        for offset, item in enumerate(fresh):
            child = Node(item.kind, item.key, owner, item, missing=item.key in missing)
            child.row = first + offset
            owner.children.append(child)
            self._by_key[child.key] = child
        self.endInsertRows()

    def _replace_placeholders(self, owner: Node, placeholders: list[Node]) -> None:
        old = [child for child in owner.children if child.is_placeholder]
        self._remove(owner, old)
        if not placeholders:
            return
        first = len(owner.children)
        self.beginInsertRows(self.index_for(owner), first, first + len(placeholders) - 1)
        for offset, placeholder in enumerate(placeholders):
            placeholder.row = first + offset
            owner.children.append(placeholder)
        self.endInsertRows()

    def _remove(self, owner: Node, nodes: list[Node]) -> None:
        """Remove `nodes` (children of `owner`) and everything under them."""
        for node in sorted(nodes, key=lambda n: n.row, reverse=True):
            if node.parent is not owner or owner.children[node.row] is not node:
                continue
            self.beginRemoveRows(self.index_for(owner), node.row, node.row)
            del owner.children[node.row]
            for row in range(node.row, len(owner.children)):
                owner.children[row].row = row
            self._forget(node)
            self.endRemoveRows()

    def _forget(self, node: Node) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if self._by_key.get(current.key) is current:
                del self._by_key[current.key]
            stack.extend(current.children)


class BrowseFilter(QtCore.QSortFilterProxyModel):
    """Name search and "latest only" in front of a BrowseModel; see the module docstring."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.text = ""
        self.latest_only = False

    def set_text(self, text: str) -> None:
        """Filter by `text` (case-insensitive, part of a name); '' shows everything."""
        wanted = text.strip().lower()
        if wanted != self.text:
            change_filter(self, lambda: setattr(self, "text", wanted))

    def set_latest_only(self, latest_only: bool) -> None:
        if latest_only != self.latest_only:
            change_filter(self, lambda: setattr(self, "latest_only", latest_only))

    def source(self) -> BrowseModel:
        model = self.sourceModel()
        assert isinstance(model, BrowseModel)
        return model

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        owner: Node = (
            source_parent.internalPointer() if source_parent.isValid() else self.source().root
        )
        if not 0 <= source_row < len(owner.children):
            return False
        node = owner.children[source_row]
        if self.latest_only:
            if node.kind == "more":
                return False
            item = node.item
            if item is not None and item.kind == "publish" and not (item.latest or item.pinned):
                return False
        text = self.text
        if not text:
            return True
        if text in node.lower and not node.is_placeholder:
            return True
        return any(text in ancestor.lower for ancestor in node.ancestors())
