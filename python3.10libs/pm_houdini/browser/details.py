"""The details pane: everything pm knows about the selected row, each path with a copy
button, and the actions that apply to it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pm_db.numbers import label as numbers_label
from pm_houdini.browser import style
from pm_houdini.browser.model import Node, plural, when
from pm_houdini.qt import QtCore, QtGui, QtWidgets, Signal

if TYPE_CHECKING:
    from pm_db.views import BrowseNode

ACTIONS = (
    ("sublayer", "Add as Sublayer", "Add this layer to the current LOP network as a sublayer"),
    ("reference", "Add as Reference", "Reference this layer in the current LOP network"),
    ("open_scene", "Open Source Scene", "Open the hip file this version was published from"),
    ("pin", "Pin Version", "Hold the part at this version instead of its latest"),
    ("unpin", "Unpin", "Let the part follow its latest version again"),
    ("deprecate", "Deprecate…", "Withdraw this version; the previous one becomes latest"),
)


class PathField(QtWidgets.QWidget):
    """A read-only path with a copy button."""

    copied = Signal(str)

    def __init__(self, path: str, missing: bool = False) -> None:
        super().__init__()
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.edit = QtWidgets.QLineEdit(path)
        self.edit.setReadOnly(True)
        # The end of a path (the file name, the numbers) is what an artist reads first.
        self.edit.setCursorPosition(len(path))
        self.edit.setToolTip(path)
        if missing:
            self.edit.setStyleSheet(f"QLineEdit {{ color: {style.STATUS_COLOURS['missing']}; }}")
        self.button = QtWidgets.QToolButton()
        self.button.setText("Copy")
        self.button.setToolTip("Copy the path to the clipboard")
        self.button.clicked.connect(self._copy)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)

    def _copy(self) -> None:
        QtGui.QGuiApplication.clipboard().setText(self.edit.text())
        self.copied.emit(self.edit.text())


class DetailsPane(QtWidgets.QWidget):
    """Shows one node; `action_requested(name)` when an action button is pressed."""

    action_requested = Signal(str)
    copied = Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.node: Node | None = None
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 4, 4)
        outer.setSpacing(6)
        header = QtWidgets.QHBoxLayout()
        self.title = QtWidgets.QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chip = QtWidgets.QLabel()
        self.chip.hide()
        header.addWidget(self.title)
        header.addWidget(self.chip)
        header.addStretch(1)
        outer.addLayout(header)
        self.trail = QtWidgets.QLabel()
        self.trail.setStyleSheet(f"color: {style.MUTED};")
        self.trail.setWordWrap(True)
        outer.addWidget(self.trail)
        self.warning = QtWidgets.QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(
            f"QLabel {{ color: {style.STATUS_COLOURS['missing']}; font-weight: 600; }}"
        )
        self.warning.hide()
        outer.addWidget(self.warning)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        body = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(body)
        column.setContentsMargins(0, 4, 0, 4)
        self.form = QtWidgets.QFormLayout()
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setVerticalSpacing(6)
        column.addLayout(self.form)
        column.addStretch(1)
        self.form.setLabelAlignment(
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        self.form.setFieldGrowthPolicy(
            QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow
        )
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.buttons: dict[str, QtWidgets.QPushButton] = {}
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(4)
        for position, (name, label, tip) in enumerate(ACTIONS):
            button = QtWidgets.QPushButton(label)
            button.setToolTip(tip)
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, n=name: self.action_requested.emit(n))
            grid.addWidget(button, position // 2, position % 2)
            self.buttons[name] = button
        outer.addLayout(grid)
        self.show_node(None)

    def set_action(self, name: str, enabled: bool, reason: str = "") -> None:
        """Enable or disable an action button; `reason` says why it is disabled."""
        button = self.buttons[name]
        button.setEnabled(enabled)
        tip = next(t for n, _, t in ACTIONS if n == name)
        button.setToolTip(tip if enabled or not reason else f"{tip}\n({reason})")

    def show_node(self, node: Node | None) -> None:
        """Show `node` (None: the empty hint)."""
        self.node = node
        while self.form.rowCount():
            self.form.removeRow(0)
        self.warning.hide()
        item = node.item if node is not None else None
        if node is None or item is None:
            self.title.setText("Nothing selected")
            self.trail.setText("Select a shot, asset, USD asset, part or version.")
            self.chip.hide()
            return
        title = item.name if item.kind != "publish" else f"{item.part_name} {item.version}"
        self.title.setText(title)
        self.trail.setText(" / ".join([a.cells[0] for a in reversed(list(node.ancestors()))]))
        self._chip(node)
        if node.missing:
            self.warning.setText(f"⚠ The file is missing on disk: {item.path}")
            self.warning.show()
        {
            "project": self._project,
            "sequence": self._group,
            "shot": self._group,
            "asset": self._group,
            "usd_asset": self._usd_asset,
            "part": self._part,
            "publish": self._publish,
        }.get(item.kind, self._group)(node, item)

    def _chip(self, node: Node) -> None:
        if not node.status_key:
            self.chip.hide()
            return
        self.chip.setText(node.cells[1] or node.status_key)
        self.chip.setStyleSheet(style.chip_style(node.status_key))
        self.chip.show()

    def _text(self, label: str, value: str) -> None:
        field = QtWidgets.QLabel(value)
        field.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        field.setWordWrap(True)
        self.form.addRow(f"{label}:", field)

    def _path(self, label: str, path: str | None, missing: bool = False) -> None:
        if not path:
            self._text(label, "(no root for this platform)")
            return
        field = PathField(path, missing)
        field.copied.connect(self.copied.emit)
        self.form.addRow(f"{label}:", field)

    def _project(self, node: Node, item: BrowseNode) -> None:
        self._text("Project", f"{item.name} — {item.info}")
        self._text("Holds", f"{item.children:,} sequences and assets")

    def _group(self, node: Node, item: BrowseNode) -> None:
        self._text("Project", item.project)
        self._text(item.kind.capitalize(), item.name)
        if item.kind == "shot":
            self._text("Frames", item.info)
        if item.kind == "asset":
            self._text("Type", item.info)
        noun = "shot" if item.kind == "sequence" else "USD asset"
        self._text("Holds", plural(item.children, noun))

    def _usd_asset(self, node: Node, item: BrowseNode) -> None:
        self._path("Asset layer", item.path, node.missing)
        self._text("Source", item.info)
        self._text("Parts", str(item.children))
        self._text("Last publish", when(item.time) or "never completed")

    def _part(self, node: Node, item: BrowseNode) -> None:
        self._path("Part layer", item.path, node.missing)
        in_use = "pinned to" if item.pinned else "follows latest:"
        self._text("In use", f"{in_use} {item.version}")
        if item.withdrawn:
            self._text("Withdrawn", "left out of the asset layer")
        self._text("Versions", f"{item.children:,}")
        self._text("Artist", item.artist or "")
        self._text("Published", when(item.time))

    def _publish(self, node: Node, item: BrowseNode) -> None:
        self._path("Data layer", item.path, node.missing)
        self._path("Part layer", item.part_path)
        self._path("Asset layer", item.asset_path)
        assert item.scene_version is not None and item.scene_iteration is not None
        scene = f"{item.scene_name} {numbers_label(item.scene_version, item.scene_iteration)}"
        self._text("Source scene", scene)
        self._path("Scene file", item.scene_path)
        self._text("Artist", item.artist or "")
        self._text("Published", when(item.completed_at) or "not completed")
        self._text("Status", node.cells[1])
        if item.error:
            self._text("Error", item.error)
        self._text("Publish id", item.publish_uid or "")
        metadata = QtWidgets.QPlainTextEdit(
            json.dumps(item.metadata, indent=2, sort_keys=True) if item.metadata else "{}"
        )
        metadata.setReadOnly(True)
        metadata.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        lines = min(12, max(3, metadata.document().blockCount() + 1))
        metadata.setFixedHeight(metadata.fontMetrics().lineSpacing() * lines + 12)
        self.form.addRow("Metadata:", metadata)
