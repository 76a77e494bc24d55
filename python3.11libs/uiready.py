"""Run by Houdini once its UI is ready (interactive sessions): pm loads its database stack
in the background so that the first pm tool does not wait for it (see pm_houdini.preload)."""

from pm_houdini import preload

preload.start()
