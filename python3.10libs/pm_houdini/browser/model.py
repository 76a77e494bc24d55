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
from typing import TYPE_CHECKING, Any

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
        "ranked",
        "row",
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
        self.extras: tuple[str, ...] = ()
        self.row = -1
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

    @property
    def attached(self) -> bool:
        """Whether the node is a row of the model (not removed, not replaced)."""
        return self.row >= 0

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
        self.normal = QtGui.QFont()
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

    def index_for(self, node: Node, column: int = NAME) -> QtCore.QModelIndex:
        """The model index of `node`'s row (invalid for the root or a detached node)."""
        if node.parent is None or not node.attached:
            return QtCore.QModelIndex()
        return self.index(node.row, column, self.index_for(node.parent))

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
        node.ranked = len(ranked)
        rows = self._fresh(node, ranked, missing)
        if node.kind == "part":
            rows += self._versions_tail(node, list(items[page:]) if page else [], missing)
        self._replace_tail(node, rows)
        return True

    def append_page(self, key: str, items: Sequence[BrowseNode], missing: set[str]) -> bool:
        """Add the next page of a part's versions; False if the part is gone."""
        node = self._by_key.get(key)
        if node is None:
            return False
        node.loading = False
        extras = [self._by_key[k] for k in node.extras if k in self._by_key]
        staying = {child.key for child in node.children} - {n.key for n in extras}
        node.ranked += len(items)
        rows = self._make(node, [item for item in items if item.key not in staying], missing)
        placed = {row.key for row in rows}
        kept = [n.item for n in extras if n.item is not None and n.key not in placed]
        rows += self._versions_tail(node, kept, missing)
        self._replace_tail(node, rows, extras)
        return True

    def load_failed(self, key: str, message: str) -> None:
        """Show why a level could not be loaded under its node; clicking it retries."""
        node = self._by_key.get(key)
        if node is None:
            return
        node.loading = False
        self._replace_tail(node, [self._placeholder(node, "error", f"Could not load: {message}")])

    def request_more(self, node: Node) -> None:
        """The "Show more" row was chosen: load the next page of its part."""
        owner = node.parent
        if owner is None or owner.loading:
            return
        owner.loading = True
        self._replace_tail(owner, [self._placeholder(owner, "loading", "Loading…")])
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
        node.extras = ()
        if node.expandable:
            self._replace_tail(node, [self._placeholder(node, "loading", "Loading…")])

    def _fresh(self, owner: Node, items: Sequence[BrowseNode], missing: set[str]) -> list[Node]:
        """Nodes for the items not in the tree yet."""
        return self._make(owner, [item for item in items if item.key not in self._by_key], missing)

    def _make(self, owner: Node, items: Sequence[BrowseNode], missing: set[str]) -> list[Node]:
        return [
            Node(item.kind, item.key, owner, item, missing=item.key in missing) for item in items
        ]

    def _versions_tail(
        self, node: Node, extras: Sequence[BrowseNode], missing: set[str]
    ) -> list[Node]:
        """The rows after a part's ranked versions: its latest/pinned ones further down the
        history, then "Show more" if versions are left."""
        tail = self._make(node, extras, missing)
        node.extras = tuple(n.key for n in tail)
        left = node.expected - node.ranked
        if left > 0:
            tail.append(self._placeholder(node, "more", f"Show more ({left:,} older)"))
        return tail

    def _placeholder(self, owner: Node, kind: str, text: str) -> Node:
        return Node(kind, f"{owner.key}#{kind}", owner, text=text)

    def _replace_tail(self, owner: Node, rows: list[Node], also: Sequence[Node] = ()) -> None:
        """Make `rows` the end of `owner`'s rows, in place of its placeholders (and of
        `also`, rows at its end). Rows are rewritten rather than removed where possible:
        Qt lays out the whole tree again after any removal, but not after new data."""
        old = [child for child in owner.children if child.is_placeholder or child in also]
        for node, reused in zip(rows, old, strict=False):
            node.row = reused.row
            owner.children[reused.row] = node
            self._forget(reused)
            self._paint(owner, node)
            self._enter(node)
        self._remove(owner, old[len(rows) :])
        added = rows[len(old) :]
        if not added:
            return
        first = len(owner.children)
        parent = self.index_for(owner)
        holder = self.itemFromIndex(parent) if parent.isValid() else self.invisibleRootItem()
        if holder.columnCount() < len(COLUMNS):
            holder.setColumnCount(len(COLUMNS))
        self.insertRows(first, len(added), parent)
        for offset, node in enumerate(added):
            node.row = first + offset
            owner.children.append(node)
            self._paint(owner, node)
            self._enter(node)

    def _enter(self, node: Node) -> None:
        self._by_key[node.key] = node
        if node.expandable and not node.children:
            self._replace_tail(node, [self._placeholder(node, "loading", "Loading…")])

    def _append(self, owner: Node, items: Sequence[BrowseNode], missing: set[str]) -> None:
        self._replace_tail(owner, self._fresh(owner, items, missing))

    def _remove(self, owner: Node, nodes: Sequence[Node]) -> None:
        """Remove `nodes` (children of `owner`) and everything under them."""
        for node in sorted(nodes, key=lambda n: n.row, reverse=True):
            if not node.attached or node.parent is not owner:
                continue
            self.removeRows(node.row, 1, self.index_for(owner))
            del owner.children[node.row]
            for row in range(node.row, len(owner.children)):
                owner.children[row].row = row
            self._forget(node)

    def _forget(self, node: Node) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            current.row = -1
            if self._by_key.get(current.key) is current:
                del self._by_key[current.key]
            stack.extend(current.children)

    def _paint(self, owner: Node, node: Node) -> None:
        """Show `node` in its row (`node.row` under `owner`), overwriting whatever the row
        showed; column 0 carries the node's key. The cells are made by Qt from their data,
        with no Python object kept per cell (fewer objects for Python's garbage collector
        to walk: its full passes stall the UI thread). Not editable in practice: the view
        has no edit triggers."""
        parent = self.index_for(owner)
        for column, data in enumerate(self._cell_data(node)):
            self.setItemData(self.index(node.row, column, parent), data)

    def _cell_data(self, node: Node) -> list[dict[int, Any]]:
        fonts = self._fonts
        item = node.item
        cells: list[dict[int, Any]] = [
            {
                _ROLES.DisplayRole: text,
                _ROLES.FontRole: fonts.italic if item is None else fonts.normal,
                # Unset roles are given as None so a rewritten row keeps nothing of before.
                _ROLES.ForegroundRole: None,
                _ROLES.DecorationRole: None,
                _ROLES.ToolTipRole: None,
            }
            for text in node.cells
        ]
        first = cells[NAME]
        first[KEY_ROLE] = node.key
        if item is None:
            colour = style.colour("failed" if node.kind == "error" else "muted")
            for cell in cells:
                cell[_ROLES.ForegroundRole] = colour
            first[_ROLES.ToolTipRole] = node.cells[0]
            return cells
        if item.kind == "publish":
            first[_ROLES.DecorationRole] = style.status_icon(node.status_key or "pending")
        else:
            first[_ROLES.DecorationRole] = style.kind_icon(item.kind)
        if node.status_key:
            cells[STATUS][_ROLES.DecorationRole] = style.status_icon(node.status_key)
            cells[STATUS][_ROLES.ForegroundRole] = style.colour(node.status_key)
        for column in (TIME, INFO):
            cells[column][_ROLES.ForegroundRole] = style.colour("muted")
        if node.status_key in ("deprecated", "withdrawn"):
            for column in (NAME, ARTIST):
                cells[column][_ROLES.ForegroundRole] = style.colour(node.status_key)
        if item.kind == "publish" and item.status == "deprecated":
            first[_ROLES.FontRole] = fonts.struck
        elif (item.kind == "publish" and (item.latest or item.pinned)) or item.kind == "project":
            first[_ROLES.FontRole] = fonts.bold
        tip = item.path or item.info or ""
        if node.missing:
            tip = f"The file is missing:\n{item.path}"
        elif item.kind == "publish" and item.error:
            tip = f"{item.status}: {item.error}"
        if tip:
            first[_ROLES.ToolTipRole] = tip
        return cells


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
        self._hidden: dict[str, Node] = {}

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
            for key, node in list(self._hidden.items()):
                if self.model.node_for_key(key) is node:
                    self._set_hidden(node, False)
            self._hidden.clear()
            return
        changes: list[tuple[Node, bool]] = []
        for child in self.model.root.children:
            self._walk(child, False, narrowing, changes)
        for node, hidden in changes:
            self._set_hidden(node, hidden)
        if not narrowing:
            self._hidden = {
                key: node
                for key, node in self._hidden.items()
                if self.model.node_for_key(key) is node
            }

    def _is_hidden(self, node: Node) -> bool:
        return self._hidden.get(node.key) is node

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
        if not node.attached or node.parent is None:
            return
        self.view.setRowHidden(node.row, self.model.index_for(node.parent), hidden)
        if hidden:
            self._hidden[node.key] = node
        else:
            self._hidden.pop(node.key, None)
