"""The one Qt binding pm uses. Every other module imports Qt from here, never a binding.

Inside Houdini: `hutil.Qt`, the shim Houdini ships (PySide2 up to 20.5, PySide6 in 21).
Outside: PySide6, else PySide2. `PM_QT_BINDING` (hutil, PySide6 or PySide2) forces one,
for testing a binding that is not the first found.

The few differences pm's widgets meet between Qt 5 and Qt 6 are smoothed here:
`QAction` (QtWidgets in Qt 5, QtGui in Qt 6), `exec_dialog` (`exec_` before `exec`),
`change_filter` (`invalidateFilter` before Qt 6.10).
Type checking always sees PySide6.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

ORDER = ("hutil", "PySide6", "PySide2")


def _import_binding(name: str) -> tuple[ModuleType, ModuleType, ModuleType]:
    package = importlib.import_module("hutil.Qt" if name == "hutil" else name)
    # hutil.Qt (Qt.py) exposes its modules as attributes; PySide imports them on demand.
    return tuple(  # type: ignore[return-value]
        getattr(package, module, None) or importlib.import_module(f"{package.__name__}.{module}")
        for module in ("QtCore", "QtGui", "QtWidgets")
    )


def load_binding(forced: str | None = None) -> tuple[str, ModuleType, ModuleType, ModuleType]:
    """(binding name, QtCore, QtGui, QtWidgets) of the first binding that imports, or of
    `forced`. Raises ImportError naming what was tried."""
    names = (forced,) if forced else ORDER
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        raise ImportError(f"PM_QT_BINDING must be one of {', '.join(ORDER)}, not {unknown[0]!r}")
    failures = []
    for name in names:
        try:
            return (name, *_import_binding(name))
        except ImportError as exc:
            failures.append(f"{name}: {exc}")
    raise ImportError("no Qt binding found (" + "; ".join(failures) + ")")


if TYPE_CHECKING:
    from PySide6 import QtCore, QtGui, QtWidgets
    from PySide6.QtGui import QAction

    BINDING = "PySide6"
else:
    BINDING, QtCore, QtGui, QtWidgets = load_binding(os.environ.get("PM_QT_BINDING") or None)
    QAction = getattr(QtGui, "QAction", None) or QtWidgets.QAction

Signal = QtCore.Signal
Slot = QtCore.Slot
Qt = QtCore.Qt
QT_MAJOR = int(QtCore.qVersion().split(".")[0])


def exec_dialog(dialog: Any) -> int:
    """Run a modal dialog's (or the application's) event loop and return its result, on
    any binding."""
    run = getattr(dialog, "exec", None) or dialog.exec_
    result: int = run()
    return result


def change_filter(proxy: QtCore.QSortFilterProxyModel, change: Callable[[], None]) -> None:
    """Apply `change` to a filter proxy's state and re-filter its rows (Qt 6.10 replaced
    `invalidateFilter` with a begin/end pair around the change)."""
    begin = getattr(proxy, "beginFilterChange", None)
    if begin is None:
        change()
        proxy.invalidateFilter()
        return
    begin()
    change()
    proxy.endFilterChange()


def application() -> QtWidgets.QApplication:
    """The running QApplication, created (with no arguments) if there is none yet."""
    app = QtWidgets.QApplication.instance()
    if isinstance(app, QtWidgets.QApplication):
        return app
    return QtWidgets.QApplication([])


__all__ = [
    "BINDING",
    "QT_MAJOR",
    "QAction",
    "Qt",
    "QtCore",
    "QtGui",
    "QtWidgets",
    "Signal",
    "Slot",
    "application",
    "change_filter",
    "exec_dialog",
    "load_binding",
]
