"""The shelf tools (toolbar/pm.shelf): Save, Version Up, Save As, Publish, Asset Browser.

Each tool is one function here. They ask the artist what only the artist can answer (a
scene name, which part a node is), run the pm_houdini step, and report: a status-bar
line for a save, a message box for a publish or any failure. They never raise into
Houdini.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import hou

from pm_db.errors import PmError, ValidationError
from pm_db.names import check_name
from pm_houdini import context as pm_context
from pm_houdini import messages
from pm_houdini import publish as pm_publish
from pm_houdini import save as pm_save
from pm_houdini.errors import describe

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.schemas import SceneOut

ASSET_BROWSER_INTERFACE = "pm_asset_browser"
"""The Python panel interface of python_panels/pm_asset_browser.pypanel."""


def save() -> SceneOut | None:
    """Shelf Save: the next iteration of the open scene (asks for a name if it has none)."""
    with messages.reporting("Save"):
        backend = pm_context.backend()
        ctx = pm_context.current_context(backend)
        if ctx.scene is None:
            return _save_as(ctx, backend)
        if messages.has_ui() and not hou.hipFile.hasUnsavedChanges():
            question = f"{pm_save.label(ctx.scene)} has no unsaved changes. Save a new iteration?"
            if not messages.confirm(question, "Save", title="pm: Save"):
                return None
        return _saved(pm_save.save_scene(ctx=ctx, backend=backend), "Saved")
    return None


def version_up() -> SceneOut | None:
    """Shelf Version Up: the next version of the open scene, iteration 1."""
    with messages.reporting("Version Up"):
        backend = pm_context.backend()
        ctx = pm_context.current_context(backend)
        if ctx.scene is None:
            return _save_as(ctx, backend)
        return _saved(pm_save.save_scene(version_up=True, ctx=ctx, backend=backend), "Versioned up")
    return None


def save_as(scene_name: str | None = None) -> SceneOut | None:
    """Shelf Save As: the open scene saved under another scene name (asks for it)."""
    with messages.reporting("Save As"):
        backend = pm_context.backend()
        ctx = pm_context.current_context(backend)
        return _save_as(ctx, backend, scene_name)
    return None


def _save_as(
    ctx: pm_context.HoudiniContext, backend: Backend, scene_name: str | None = None
) -> SceneOut | None:
    name = scene_name or ask_scene_name(ctx)
    if name is None:
        return None
    return _saved(pm_save.save_scene(scene_name=name, ctx=ctx, backend=backend), "Saved")


def ask_scene_name(ctx: pm_context.HoudiniContext) -> str | None:
    """A valid scene name from the artist (asked again after a bad one), or None if they
    cancel. Headless there is nobody to ask: raises ValidationError naming scene_name."""
    if not messages.has_ui():
        raise ValidationError(
            f"{ctx.hip_path} has no pm scene name; pass one (Save As)", field="scene_name"
        )
    initial = ctx.scene_name or _name_from_file(ctx)
    prompt = "Scene name (letters, digits, _ and -):"
    while True:
        answer = messages.ask_text(prompt, initial, title="pm: Save As", proceed="Save")
        if answer is None:
            return None
        try:
            return check_name(answer, "scene_name")
        except ValidationError as exc:
            initial = answer
            prompt = f"{exc.message}\n\nScene name (letters, digits, _ and -):"


def _name_from_file(ctx: pm_context.HoudiniContext) -> str:
    """A foreign file's name as the suggested scene name (`rock_sim.hip` -> `rock_sim`)."""
    if hou.hipFile.isNewFile():
        return ""
    stem = Path(ctx.hip_path).stem
    try:
        return check_name(stem, "scene_name")
    except ValidationError:
        return ""


def _saved(scene: SceneOut, verb: str) -> SceneOut:
    messages.status(f"pm: {verb} {pm_save.label(scene)}  {scene.path}")
    return scene


def publish() -> list[pm_publish.Outcome]:
    """Shelf Publish: save a new iteration, then publish every selected LOP node or USD
    ROP as a part (asking for asset and part where a node does not name them)."""
    with messages.reporting("Publish"):
        selected = [n.path() for n in hou.selectedNodes()]
        if not selected:
            raise ValidationError("select the LOP nodes or USD ROPs to publish", field="node")
        return publish_nodes(selected, tool="shelf")
    return []


def publish_nodes(node_paths: list[str], tool: str) -> list[pm_publish.Outcome]:
    """Save, then publish the given nodes, and tell the artist how each went.

    Raises what collecting or saving raises (nothing is published then)."""
    backend = pm_context.backend()
    ctx = pm_context.current_context(backend)
    default_asset = ctx.scene_name
    targets = []
    for path in node_paths:
        target = _collect_asking(path, default_asset)
        if target is None:
            return []
        targets.append(target)
    scene_name = None
    if ctx.scene is None:
        scene_name = ask_scene_name(ctx)
        if scene_name is None:
            return []
    scene, outcomes = pm_publish.publish_from_open_scene(
        targets, tool=tool, ctx=ctx, backend=backend, scene_name=scene_name
    )
    _report(scene, outcomes)
    return outcomes


def _collect_asking(node_path: str, default_asset: str | None) -> pm_publish.Target | None:
    """Collect a node; in the UI, ask for the asset and part it does not name itself."""
    try:
        return pm_publish.collect(node_path, default_asset=default_asset)
    except ValidationError as exc:
        if exc.field not in ("asset", "part") or not messages.has_ui():
            raise
    node = pm_publish.find_node(node_path)
    asset, part = pm_publish.node_names(node)
    initial = f"{asset or default_asset or ''}/{part or node.name()}"
    prompt = f"Publish {node_path} as ASSET/PART:"
    while True:
        answer = messages.ask_text(prompt, initial, title="pm: Publish", proceed="Publish")
        if answer is None:
            return None
        asset_name, _, part_name = answer.partition("/")
        try:
            return pm_publish.collect(node_path, asset_name, part_name)
        except ValidationError as exc:
            if exc.field not in ("asset", "part"):
                raise
            initial, prompt = answer, f"{exc}\n\nPublish {node_path} as ASSET/PART:"


def _report(scene: SceneOut, outcomes: list[pm_publish.Outcome]) -> None:
    lines = [f"From {pm_save.label(scene)}:"]
    failures = [o for o in outcomes if o.error is not None]
    for outcome in outcomes:
        if outcome.error is not None:
            lines.append(f"{outcome.target.path} failed: {describe(outcome.error)}")
        elif outcome.result is not None:
            lines.append(outcome.result.describe())
    text = "\n".join(lines)
    if not failures:
        messages.info(text)
        return
    first = failures[0].error
    assert first is not None
    messages.error("Publish", _Summary(text, first))


class _Summary(PmError):
    """Several nodes' outcomes in one error box, coded like the first failure."""

    def __init__(self, text: str, first: BaseException) -> None:
        super().__init__(text)
        if isinstance(first, PmError):
            self.code, self.exit_code = first.code, first.exit_code


def asset_browser() -> None:
    """Shelf Asset Browser: open pm's asset browser panel in a floating window."""
    with messages.reporting("Asset Browser"):
        if not messages.has_ui():
            raise ValidationError("the asset browser needs Houdini's interface", field="ui")
        interface = hou.pypanel.interfaceByName(ASSET_BROWSER_INTERFACE)
        if interface is None:
            raise PmError(
                f"the Python panel {ASSET_BROWSER_INTERFACE!r} is not installed: is pm's "
                "package loaded (python_panels/ on HOUDINI_PATH)?",
                field="panel",
            )
        hou.ui.curDesktop().createFloatingPaneTab(
            hou.paneTabType.PythonPanel, size=(1100, 700), python_panel_interface=interface
        )
