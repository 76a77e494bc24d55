"""Colours, icons and the stand-alone theme shared by the asset browser and the launcher.

Inside Houdini the widgets take Houdini's own style; the colours here are chosen to read on
its dark grey and on the dark theme `apply_theme` gives a stand-alone window.
"""

from __future__ import annotations

from functools import cache

from pm_houdini.qt import QtCore, QtGui, QtWidgets

STATUS_COLOURS = {
    "published": "#7cc47f",
    "latest": "#7cc47f",
    "pinned": "#e8b04a",
    "pending": "#e0c45c",
    "failed": "#ef6b6b",
    "deprecated": "#8c8c8c",
    "withdrawn": "#8c8c8c",
    "missing": "#ff8a4c",
    # task statuses (launcher)
    "todo": "#a0a4ab",
    "wip": "#5aa9e6",
    "review": "#c58af0",
    "approved": "#7cc47f",
    "done": "#6f9f72",
    "omit": "#7a7a7a",
}
KIND_COLOURS = {
    "project": "#5b8def",
    "sequence": "#3fb5a8",
    "shot": "#6cc26f",
    "asset": "#e59a45",
    "usd_asset": "#b07fe0",
    "part": "#78b6f0",
}
MUTED = "#8c8c8c"
ERROR_BACKGROUND = "#5a2a2a"
ERROR_BORDER = "#c25454"


def colour(name: str) -> QtGui.QColor:
    """The colour of a status or node kind (grey for anything unknown)."""
    return QtGui.QColor(STATUS_COLOURS.get(name) or KIND_COLOURS.get(name) or MUTED)


def _pixmap(size: int) -> QtGui.QPixmap:
    pixmap = QtGui.QPixmap(size, size)
    pixmap.fill(QtCore.Qt.GlobalColor.transparent)
    return pixmap


@cache
def kind_icon(kind: str, size: int = 16) -> QtGui.QIcon:
    """A small glyph per tree level, so the hierarchy reads at a glance."""
    pixmap = _pixmap(size)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    fill = colour(kind)
    painter.setBrush(fill)
    painter.setPen(QtGui.QPen(fill.darker(140), 1))
    s = float(size)
    if kind == "project":
        painter.drawRoundedRect(QtCore.QRectF(2, 3, s - 4, s - 6), 2, 2)
        painter.drawRect(QtCore.QRectF(2, 2, s / 2 - 2, 3))
    elif kind == "sequence":
        for i in range(3):
            painter.drawRoundedRect(QtCore.QRectF(2, 2.5 + i * (s / 3.2), s - 4, s / 5), 1, 1)
    elif kind == "shot":
        painter.drawRoundedRect(QtCore.QRectF(1.5, 3.5, s - 3, s - 7), 1.5, 1.5)
        painter.setBrush(fill.darker(170))
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        for x in (3.5, s - 5.5):
            for y in (5.0, s / 2 - 1, s - 7.0):
                painter.drawRect(QtCore.QRectF(x, y, 2, 2))
    elif kind == "asset":
        polygon = QtGui.QPolygonF(
            [
                QtCore.QPointF(s / 2, 1.5),
                QtCore.QPointF(s - 1.5, s / 2),
                QtCore.QPointF(s / 2, s - 1.5),
                QtCore.QPointF(1.5, s / 2),
            ]
        )
        painter.drawPolygon(polygon)
    elif kind == "usd_asset":
        r = s / 2 - 1.5
        points = [
            QtCore.QPointF(s / 2 + r * x, s / 2 + r * y)
            for x, y in ((0, -1), (0.87, -0.5), (0.87, 0.5), (0, 1), (-0.87, 0.5), (-0.87, -0.5))
        ]
        painter.drawPolygon(QtGui.QPolygonF(points))
    elif kind == "part":
        painter.drawEllipse(QtCore.QRectF(3, 3, s - 6, s - 6))
    else:
        painter.drawEllipse(QtCore.QRectF(s / 2 - 3, s / 2 - 3, 6, 6))
    painter.end()
    return QtGui.QIcon(pixmap)


@cache
def status_icon(status: str, size: int = 12) -> QtGui.QIcon:
    """A coloured dot for a status."""
    pixmap = _pixmap(size)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setBrush(colour(status))
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.drawEllipse(QtCore.QRectF(2, 2, size - 4, size - 4))
    painter.end()
    return QtGui.QIcon(pixmap)


def chip_style(name: str) -> str:
    """A stylesheet for a small rounded status label."""
    base = colour(name)
    return (
        f"QLabel {{ background: {base.darker(260).name()}; color: {base.lighter(115).name()};"
        f" border: 1px solid {base.darker(150).name()}; border-radius: 8px;"
        " padding: 1px 8px; font-weight: 600; }"
    )


def apply_theme(app: QtWidgets.QApplication) -> None:
    """A dark theme close to Houdini's, for windows that run outside Houdini."""
    app.setStyle("Fusion")
    palette = QtGui.QPalette()
    roles = QtGui.QPalette.ColorRole
    for role, value in (
        (roles.Window, "#3a3a3a"),
        (roles.WindowText, "#dcdcdc"),
        (roles.Base, "#2b2b2b"),
        (roles.AlternateBase, "#323232"),
        (roles.ToolTipBase, "#474747"),
        (roles.ToolTipText, "#e8e8e8"),
        (roles.Text, "#dcdcdc"),
        (roles.Button, "#4a4a4a"),
        (roles.ButtonText, "#e0e0e0"),
        (roles.BrightText, "#ffffff"),
        (roles.Highlight, "#3d6a9e"),
        (roles.HighlightedText, "#ffffff"),
        (roles.Link, "#7fb2f0"),
        (roles.PlaceholderText, "#8a8a8a"),
    ):
        palette.setColor(role, QtGui.QColor(value))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for role in (roles.Text, roles.ButtonText, roles.WindowText):
        palette.setColor(disabled, role, QtGui.QColor("#7a7a7a"))
    app.setPalette(palette)
    app.setStyleSheet(
        "QToolTip { border: 1px solid #5a5a5a; padding: 4px; }"
        " QHeaderView::section { background: #454545; padding: 4px 6px; border: 0;"
        " border-right: 1px solid #3a3a3a; font-weight: 600; }"
        " QTreeView, QTableView { border: 1px solid #262626; }"
    )
