"""python_panels/pm_asset_browser.pypanel: a well-formed Python panel file whose script
creates the asset browser, the way Houdini runs it."""

from __future__ import annotations

import os
import types
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pm_houdini.browser import AssetBrowser

from pm_db.db import Database
from tests.fake_hou.support import houdini  # noqa: F401

PANEL = Path(__file__).resolve().parent.parent / "python_panels" / "pm_asset_browser.pypanel"


def test_the_panel_file_declares_the_interface(houdini: types.ModuleType) -> None:  # noqa: F811
    root = ET.parse(PANEL).getroot()
    assert root.tag == "pythonPanelDocument"
    [interface] = root.findall("interface")
    assert interface.get("name") == "pm_asset_browser"
    assert interface.get("label") == "pm Asset Browser"
    assert interface.find("includeInPaneTabMenu") is not None
    assert "Latest only" in (interface.findtext("help") or "")
    houdini.pypanel.installFile(str(PANEL))
    assert houdini.pypanel.interfaceByName("pm_asset_browser") is not None


def test_the_script_creates_the_browser(qtbot: Any, db: Database) -> None:
    script = ET.parse(PANEL).getroot().findtext("interface/script") or ""
    namespace: dict[str, Any] = {"kwargs": {}}
    exec(compile(script, str(PANEL), "exec"), namespace)
    panel = namespace["onCreateInterface"]()
    qtbot.addWidget(panel)
    assert isinstance(panel, AssetBrowser)
    qtbot.waitUntil(panel.is_idle, timeout=15_000)
    assert "No projects" in panel.empty.text()  # PM_DB_URL: the empty test database
    namespace["onDestroyInterface"]()
    assert panel.is_idle()
