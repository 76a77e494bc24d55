"""The asset browser: pm's Python panel for finding and loading published USD.

`AssetBrowser` is the widget (`widget.py`); the Qt model and its filter are in `model.py`,
the worker-thread loading in `loader.py`, the details pane in `details.py`.
"""

from pm_houdini.browser.widget import AssetBrowser, create_panel

__all__ = ["AssetBrowser", "create_panel"]
