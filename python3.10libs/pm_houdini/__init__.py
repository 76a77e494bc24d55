"""pm_houdini: pm inside Houdini. Thin adapters over pm_db; the only code that imports hou.

- `context`: which task and artist a tool works for (the open scene, else PM_TASK_ID);
- `save`: Save, Version Up, Save As (pm hands out the number and path, Houdini writes);
- `publish`: collect -> reserve -> render -> verify -> complete, for LOP nodes and USD ROPs;
- `shelf` and `hda`: the shelf tools and the pm::publish_part button (dialogs, reports);
- `batch`: `hython -m pm_houdini.batch` for the farm;
- `messages`, `errors`: message boxes in the UI, log lines headless; pm's error family;
- `qt`, `browser`, `launcher`, `lop`: the asset browser panel and launcher (docs/panels.md).

Importing this package makes pm_db and the vendored dependencies importable after
Houdini's own packages (`vendor`) and imports nothing heavy: Houdini may load it at any
time for free.
"""

from pm_houdini.vendor import make_importable

make_importable()
