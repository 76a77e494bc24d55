"""pm_houdini: pm inside Houdini. Thin adapters over pm_db; the only code that imports hou."""
