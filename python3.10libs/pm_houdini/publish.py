"""Publishing a USD part from a LOP node or a USD ROP, in named steps.

collect (which node, which asset and part) -> reserve (pm hands out the numbers and the
data layer path, status pending) -> render (a USD ROP writes the data layer there) ->
verify (the file exists and is not empty; everything it depends on lies in the
publish's own folder or was published before: pm_houdini.savepaths) -> complete (pm
checks the layer, marks it published, makes it latest and updates the part and asset
layers). A failure while
rendering or verifying marks the publish failed with the reason, so the record never
claims a file that was not written; a retry of the same request re-opens it. A failure
inside complete leaves the record as pm's publish pipeline decides (docs/publishing.md).

What renders:
- a USD ROP in `/out` (type `usd`): rendered with `RopNode.render`, its `lopoutput` set
  to the reserved path for the render and restored after;
- a USD ROP in LOPs (`usd_rop`): its `execute` button pressed, `lopoutput` likewise;
- any other LOP node (the `pm::publish_part` HDA included): a temporary `/out` USD ROP
  whose LOP Path is that node, deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hou

from pm_db.errors import NotFound, PmError, ValidationError
from pm_db.names import check_name
from pm_db.numbers import label as numbers_label
from pm_houdini import context as pm_context
from pm_houdini import savepaths
from pm_houdini.errors import Interrupted, WriteFailed, describe
from pm_houdini.messages import log

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.schemas import PublishOut, SceneOut

PUBLISH_HDA = "pm::publish_part::1.0"
FrameRange = tuple[float, float, float]


@dataclass(frozen=True)
class Target:
    """A node to publish, what kind of render it needs, and the part it publishes."""

    node: hou.OpNode
    kind: str  # "rop" (/out usd), "lop_rop" (LOP usd_rop) or "lop" (any other LOP)
    asset: str
    part: str
    frame_range: FrameRange | None

    @property
    def path(self) -> str:
        return self.node.path()


@dataclass(frozen=True)
class PublishResult:
    """The publish record, and whether this call found it already published."""

    publish: PublishOut
    already_published: bool

    def describe(self) -> str:
        p = self.publish
        state = "was already published" if self.already_published else "published"
        return (
            f"{p.asset_name}/{p.part_name} {numbers_label(p.version, p.iteration)} {state}: "
            f"{p.item_usd_path}"
        )


def find_node(node_path: str) -> hou.OpNode:
    """The node at `node_path`; raises NotFound or ValidationError (not an operator),
    naming `node`."""
    node = hou.node(node_path)
    if node is None:
        raise NotFound(f"no node at {node_path!r} in {hou.hipFile.path()}", field="node")
    if not isinstance(node, hou.OpNode):
        raise ValidationError(f"{node_path} is not an operator node", field="node")
    return node


def node_kind(node: hou.OpNode) -> str:
    """The render a node needs: rop, lop_rop or lop. Raises ValidationError for any
    other node, or a bypassed one."""
    type_name = node.type().name()
    if isinstance(node, hou.RopNode) and type_name == "usd":
        kind = "rop"
    elif isinstance(node, hou.LopNode):
        kind = "lop_rop" if type_name == "usd_rop" else "lop"
    else:
        category = node.type().category().name()
        raise ValidationError(
            f"{node.path()} is a {category} node ({type_name}); publish a LOP node or a USD ROP",
            field="node",
        )
    if isinstance(node, hou.RopNode | hou.LopNode) and node.isBypassed():
        raise ValidationError(f"{node.path()} is bypassed", field="node")
    return kind


def node_names(node: hou.OpNode) -> tuple[str | None, str | None]:
    """The asset and part a node names itself: the HDA's `asset`/`part` parameters, or
    `pm_asset`/`pm_part` spare parameters on any node (None where absent or empty)."""
    names: list[str | None] = []
    for keys in (("asset", "pm_asset"), ("part", "pm_part")):
        value = None
        for key in keys:
            parm = node.parm(key)
            if parm is not None:
                value = parm.evalAsString().strip() or None
                break
        names.append(value)
    return names[0], names[1]


def node_frame_range(node: hou.OpNode) -> FrameRange | None:
    """The frame range a node's own `trange`/`f1`-`f3` parameters ask for, or None for
    the current frame (or a node without them)."""
    trange = node.parm("trange")
    if trange is None or not int(trange.eval()):
        return None
    values = []
    for key in ("f1", "f2", "f3"):
        parm = node.parm(key)
        if parm is None:
            return None
        values.append(float(parm.eval()))
    return values[0], values[1], values[2]


def check_frame_range(values: Sequence[float] | None) -> FrameRange | None:
    """(start, end, step) from 2 or 3 numbers; raises ValidationError naming frame_range."""
    if values is None:
        return None
    if len(values) not in (2, 3) or any(isinstance(v, bool) for v in values):
        raise ValidationError("must be [start, end] or [start, end, step]", "frame_range")
    try:
        start, end = float(values[0]), float(values[1])
        step = float(values[2]) if len(values) == 3 else 1.0
    except (TypeError, ValueError):
        raise ValidationError("must be numbers", field="frame_range") from None
    if end < start or step <= 0:
        raise ValidationError("needs start <= end and a positive step", field="frame_range")
    return start, end, step


def collect(
    node_path: str,
    asset: str | None = None,
    part: str | None = None,
    frame_range: Sequence[float] | None = None,
    default_asset: str | None = None,
) -> Target:
    """Step 1: the node, its kind and the checked asset and part names.

    Names come from the arguments, else from the node's parameters, else `default_asset`
    for the asset. Raises NotFound (node) or ValidationError naming node, asset, part or
    frame_range."""
    node = find_node(node_path)
    kind = node_kind(node)
    own_asset, own_part = node_names(node)
    asset = check_name(asset or own_asset or default_asset or "", "asset")
    part = check_name(part or own_part or "", "part")
    explicit = check_frame_range(frame_range)
    if explicit is not None and kind == "lop_rop":
        raise ValidationError(
            f"{node_path} is a LOP USD ROP: it renders its own frame range; set it there",
            field="frame_range",
        )
    frames = explicit if explicit is not None else node_frame_range(node)
    return Target(node, kind, asset, part, frames if kind == "lop" else explicit)


def request_id_for(scene: SceneOut, target: Target, tool: str) -> str:
    """A request id that is the same for every retry of the same publish, so a retried
    job returns the first record instead of publishing twice."""
    import hashlib
    import json

    key = json.dumps([tool, scene.id, target.path, target.asset, target.part, target.frame_range])
    return f"houdini-{tool}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def metadata_for(target: Target, tool: str) -> dict[str, Any]:
    """What a publish records about its source; the same on every retry of a job."""
    return {
        "asset_name": target.asset,
        "part_name": target.part,
        "node": target.path,
        "node_type": target.node.type().name(),
        "frame_range": list(target.frame_range) if target.frame_range else None,
        "tool": tool,
    }


class Progress:
    """Named steps reported to Houdini's progress bar (Esc interrupts) and the log."""

    def __init__(self, operation: hou.InterruptableOperation, title: str) -> None:
        self.operation = operation
        self.title = title

    def step(self, fraction: float, what: str) -> None:
        log.info("%s: %s", self.title, what)
        self.operation.updateLongProgress(fraction, what)


@contextmanager
def progress(title: str) -> Iterator[Progress]:
    """A Houdini interruptable operation around a publish."""
    with hou.InterruptableOperation(
        "pm publish", long_operation_name=title, open_interrupt_dialog=True
    ) as operation:
        yield Progress(operation, title)


def publish_target(
    target: Target,
    scene: SceneOut,
    *,
    tool: str,
    request_id: str | None = None,
    backend: Backend | None = None,
) -> PublishResult:
    """Steps 2-5 for a collected target, from the saved `scene` it belongs to.

    Raises ValidationError, NotFound, Conflict (published from this iteration by another
    request), WriteFailed (the ROP failed or wrote nothing), Interrupted, Unavailable."""
    backend = backend or pm_context.backend()
    title = f"Publishing {target.asset}/{target.part} from {target.path}"
    reserved = backend.reserve_publish(
        {
            "scene_id": scene.id,
            "asset_name": target.asset,
            "part_name": target.part,
            "metadata": metadata_for(target, tool),
            "request_id": request_id or request_id_for(scene, target, tool),
        }
    )
    if reserved.status == "published":
        log.info("%s: already published as %s", title, reserved.item_usd_path)
        return PublishResult(reserved, already_published=True)
    with progress(title) as steps:
        try:
            steps.step(0.1, f"rendering {reserved.item_usd_path}")
            with savepaths.inside_publish_folder(target.node, target.kind, reserved.item_usd_path):
                render(target, reserved.item_usd_path)
            steps.step(0.8, "checking the data layer was written")
            verify_written(target, reserved.item_usd_path)
            steps.step(0.9, "completing the publish and updating the layers")
        except BaseException as exc:
            failure = as_pm_error(exc, target)
            _fail(backend, reserved, failure)
            raise failure from exc
        # complete_publish leaves the record in the state its own failures call for
        # (failed for a bad data layer, pending for a read-only layer file).
        done = backend.complete_publish(reserved.publish_id)
    return PublishResult(done, already_published=False)


def as_pm_error(exc: BaseException, target: Target) -> BaseException:
    """Houdini's and the OS's errors as pm errors naming the node; others unchanged."""
    if isinstance(exc, PmError):
        return exc
    if isinstance(exc, hou.OperationInterrupted | KeyboardInterrupt):
        return Interrupted(f"publishing {target.path} was interrupted", field="node")
    if isinstance(exc, hou.Error | OSError):
        return WriteFailed(f"{target.path} failed: {describe(exc)}", field="node")
    return exc


def _fail(backend: Backend, reserved: PublishOut, failure: BaseException) -> None:
    """Mark the reservation failed; a second failure here is logged, never hides the first."""
    try:
        backend.fail_publish(reserved.publish_id, describe(failure))
    except PmError as exc:
        log.warning("could not mark publish %s failed: %s", reserved.id, exc)


def render(target: Target, output: str) -> None:
    """Step 3: make the target's ROP write its stage to `output`. Raises hou.Error,
    OSError, ValidationError."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A retried publish may find its earlier attempt's file: verify must see this render's.
    path.unlink(missing_ok=True)
    node = target.node
    if target.kind == "rop":
        assert isinstance(node, hou.RopNode)
        with _parm_set_for_render(node, "lopoutput", output):
            node.render(
                frame_range=target.frame_range or (),
                ignore_inputs=True,
                output_progress=not hou.isUIAvailable(),
            )
    elif target.kind == "lop_rop":
        with _parm_set_for_render(node, "lopoutput", output):
            _parm(node, "execute").pressButton()
    else:
        _render_lop(target, output)
    _raise_node_errors(node)


def _render_lop(target: Target, output: str) -> None:
    """Render a LOP node through a temporary `/out` USD ROP, removed afterwards."""
    out = hou.node("/out")
    if out is None:
        raise ValidationError("this scene has no /out network to render from", field="node")
    rop = out.createNode("usd")
    try:
        assert isinstance(rop, hou.RopNode)
        _parm(rop, "loppath").set(target.path)
        _parm(rop, "lopoutput").set(output)
        rop.render(
            frame_range=target.frame_range or (),
            ignore_inputs=True,
            output_progress=not hou.isUIAvailable(),
        )
        _raise_node_errors(rop)
    finally:
        rop.destroy()


def _parm(node: hou.OpNode, name: str) -> hou.Parm:
    parm = node.parm(name)
    if parm is None:
        raise ValidationError(f"{node.path()} has no {name!r} parameter", field="node")
    return parm


@contextmanager
def _parm_set_for_render(node: hou.OpNode, name: str, value: str) -> Iterator[None]:
    """Set a string parameter for the render and put the artist's value back after."""
    parm = _parm(node, name)
    original = parm.unexpandedString()
    parm.set(value)
    try:
        yield
    finally:
        parm.set(original)


def _raise_node_errors(node: hou.OpNode) -> None:
    errors = [e for e in node.errors() if e.strip()]
    if errors:
        raise WriteFailed(f"{node.path()} failed: {' '.join(errors)}", field="node")


def verify_written(target: Target, output: str) -> None:
    """Step 4: the ROP really wrote something. Raises WriteFailed."""
    path = Path(output)
    if not path.is_file() or path.stat().st_size == 0:
        raise WriteFailed(
            f"{target.path} finished but wrote nothing to {output} (is it bypassed, or "
            "is its LOP Path empty?)",
            field="node",
        )


@dataclass(frozen=True)
class Outcome:
    """What became of one node in a multi-node publish."""

    target: Target
    result: PublishResult | None
    error: BaseException | None


def publish_from_open_scene(
    targets: Sequence[Target],
    *,
    tool: str,
    ctx: pm_context.HoudiniContext,
    backend: Backend,
    scene_name: str | None = None,
) -> tuple[SceneOut, list[Outcome]]:
    """Save a new iteration of the open scene, then publish every target from it.

    The save comes first so each published file names the exact hip that made it, and
    publishing again later takes a new iteration instead of reusing a number. A failed
    node does not stop the others; its error is in its outcome. Raises what the save
    raises (nothing is published then), and ValidationError for two nodes naming the
    same part."""
    from pm_houdini.save import save_scene

    seen: dict[tuple[str, str], str] = {}
    for target in targets:
        key = (target.asset.lower(), target.part.lower())
        if key in seen:
            raise ValidationError(
                f"{seen[key]} and {target.path} both publish {target.asset}/{target.part}",
                field="part",
            )
        seen[key] = target.path
    scene = save_scene(ctx=ctx, backend=backend, scene_name=scene_name)
    outcomes: list[Outcome] = []
    for target in targets:
        try:
            result = publish_target(target, scene, tool=tool, backend=backend)
        except Exception as exc:
            outcomes.append(Outcome(target, None, exc))
            if isinstance(exc, Interrupted):
                break  # Esc stops the whole publish, not just this node
        else:
            outcomes.append(Outcome(target, result, None))
    return scene, outcomes
