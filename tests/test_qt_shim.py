"""The Qt binding shim picks Houdini's hutil.Qt first, then PySide6, then PySide2, and
nothing else in pm imports a binding directly."""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pm_houdini import qt

ROOT = Path(__file__).resolve().parent.parent


def fake_binding(monkeypatch: pytest.MonkeyPatch, package: str) -> dict[str, types.ModuleType]:
    """Install a stand-in binding package whose modules are attributes (like Qt.py)."""
    modules = {
        name: types.ModuleType(f"{package}.{name}") for name in ("QtCore", "QtGui", "QtWidgets")
    }
    parts = package.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        module = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, module)
        if depth > 1:
            setattr(sys.modules[".".join(parts[: depth - 1])], parts[depth - 1], module)
    for name, module in modules.items():
        setattr(sys.modules[package], name, module)
    return modules


def test_inside_houdini_hutil_qt_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    modules = fake_binding(monkeypatch, "hutil.Qt")
    name, core, gui, widgets = qt.load_binding()
    assert name == "hutil"
    assert (core, gui, widgets) == (modules["QtCore"], modules["QtGui"], modules["QtWidgets"])


def test_outside_houdini_pyside6_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hutil", None)
    name, core, _gui, widgets = qt.load_binding()
    assert name == "PySide6"
    assert core.__name__ == "PySide6.QtCore" and widgets.__name__ == "PySide6.QtWidgets"


def test_pyside2_when_it_is_all_there_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hutil", None)
    monkeypatch.setitem(sys.modules, "PySide6", None)
    fake_binding(monkeypatch, "PySide2")
    assert qt.load_binding()[0] == "PySide2"


def test_forced_binding_and_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_binding(monkeypatch, "hutil.Qt")
    assert qt.load_binding("PySide6")[0] == "PySide6"
    with pytest.raises(ImportError, match="PM_QT_BINDING must be one of"):
        qt.load_binding("PyQt5")
    for name in ("hutil", "hutil.Qt", "PySide6", "PySide2"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match="no Qt binding found") as error:
        qt.load_binding()
    assert all(name in str(error.value) for name in ("hutil", "PySide6", "PySide2"))


def test_the_running_binding_and_helpers(qapp: object) -> None:
    assert qt.BINDING == "PySide6" and qt.QT_MAJOR == 6
    assert qt.QAction is qt.QtGui.QAction
    assert qt.application() is qapp

    class Dialog:
        def exec_(self) -> int:
            return 7

    assert qt.exec_dialog(Dialog()) == 7
    model = qt.QtGui.QStandardItemModel()
    for word in ("alpha", "beta"):
        model.appendRow(qt.QtGui.QStandardItem(word))
    proxy = qt.QtCore.QSortFilterProxyModel()
    proxy.setSourceModel(model)
    qt.change_filter(proxy, lambda: proxy.setFilterFixedString("bet"))
    assert proxy.rowCount() == 1


def test_no_other_module_imports_a_binding() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+(PySide2|PySide6|PyQt5|PyQt6|hutil\.Qt)\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("pm_db", "python3.10libs", "tools", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "qt.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
