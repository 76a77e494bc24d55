"""A fake `hou` module: just enough of Houdini's Python API for pm_houdini's tests.

Every public name here exists in `hou-stubs` (types-houdini) with the same parameters;
tests/test_fake_hou_stubs.py checks that. Names starting with `_` are the test's
controls (the session state, queued dialog answers, installing the HDA) and are not
part of the stubs.

What it models:
- a node tree (`/obj`, `/out`, `/stage`) of typed nodes with parameters;
- hip files: `hipFile.save` writes the tree as JSON at the path (creating folders, like
  Houdini), `hipFile.load` reads it back; both raise `OperationFailed` on OS errors;
- USD ROPs: rendering a `usd` ROP (or pressing `execute` on a `usd_rop` LOP) writes a
  real USD file with pxr: one `Points` prim per LOP node in the source chain, with a
  time sample per frame;
- HDAs: `_install_hda(expanded_dir)` reads an expanded HDA's DialogScript and
  PythonModule, so its parameters exist and pressing its buttons runs the real callback;
- the UI: `isUIAvailable()` is a switch; message boxes record what they showed and
  answer from a queue the test fills.

Test controls: `_reset(ui=..., license=...)` returns the session (`answers`, `messages`,
`status`, `operations`, `saves`, `renders`, `saving_fails`, `interrupt_at`, `playbar`);
`_select(*nodes)`; on a node, `_fail_render = "message"` (a cook error anywhere in a
ROP's LOP chain fails the render), `_render_writes_nothing`, `_bypassed`. Fixtures that
use them are in tests/fake_hou/support.py.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import types
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Enumerations ------------------------------------------------------------------------


class EnumValue:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._label = str(args[0]) if args else ""

    def name(self) -> str:
        return self._label.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return f"<hou.{self._label}>"


class severityType:
    Message = EnumValue("severityType.Message")
    ImportantMessage = EnumValue("severityType.ImportantMessage")
    Warning = EnumValue("severityType.Warning")
    Error = EnumValue("severityType.Error")
    Fatal = EnumValue("severityType.Fatal")


class licenseCategoryType:
    Commercial = EnumValue("licenseCategoryType.Commercial")
    Indie = EnumValue("licenseCategoryType.Indie")
    Education = EnumValue("licenseCategoryType.Education")
    ApprenticeHD = EnumValue("licenseCategoryType.ApprenticeHD")
    Apprentice = EnumValue("licenseCategoryType.Apprentice")


class paneTabType:
    PythonPanel = EnumValue("paneTabType.PythonPanel")
    NetworkEditor = EnumValue("paneTabType.NetworkEditor")


# Exceptions -----------------------------------------------------------------------------


class Error(Exception):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)

    def exceptionTypeName(self) -> str:
        return type(self).__name__

    def description(self) -> str:
        return type(self).__name__

    def instanceMessage(self) -> str:
        return str(self.args[0]) if self.args else ""


class OperationFailed(Error):
    pass


class OperationInterrupted(Error):
    pass


class LoadWarning(Error):
    pass


class InvalidInput(Error):
    pass


class ObjectWasDeleted(Error):
    pass


# Node types ---------------------------------------------------------------------------


class NodeTypeCategory:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._name = str(args[0])

    def name(self) -> str:
        return self._name


class OpNodeTypeCategory(NodeTypeCategory):
    pass


_CATEGORIES = {
    name: OpNodeTypeCategory(name) for name in ("Manager", "Object", "Sop", "Driver", "Lop")
}


class NodeType:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._name: str = args[0]
        self._category: NodeTypeCategory = args[1]
        self._parms: dict[str, Any] = dict(args[2]) if len(args) > 2 else {}
        self._callbacks: dict[str, str] = dict(args[3]) if len(args) > 3 else {}
        self._module_source: str | None = args[4] if len(args) > 4 else None

    def name(self) -> str:
        return self._name

    def category(self) -> NodeTypeCategory:
        return self._category

    def description(self) -> str:
        return self._name

    def nameWithCategory(self) -> str:
        return f"{self._category.name()}/{self._name}"


class OpNodeType(NodeType):
    pass


_USD_ROP_PARMS = {
    "loppath": "",
    "lopoutput": "$HIP/usd/$OS.usd",
    "trange": 0,
    "f1": 1.0,
    "f2": 240.0,
    "f3": 1.0,
    "execute": 0,
}

_TYPES: dict[str, OpNodeType] = {}


def _define(category: str, name: str, parms: Mapping[str, Any] | None = None) -> None:
    _TYPES[f"{category}/{name}"] = OpNodeType(name, _CATEGORIES[category], parms or {})


for _name in ("obj", "out", "stage"):
    _define("Manager", _name)
_define("Object", "geo")
_define("Sop", "box")
_define("Driver", "usd", _USD_ROP_PARMS)
_define("Driver", "geometry", {"sopoutput": "$HIP/geo/$OS.bgeo.sc", "execute": 0})
_define("Lop", "usd_rop", {k: v for k, v in _USD_ROP_PARMS.items() if k != "loppath"})
for _name in ("sphere", "null"):
    _define("Lop", _name, {"primpath": "/$OS"})
# Layers with a save path: SOP Import writes its own layer there, Configure Layer gives
# the layer its input authored one. Empty: no save path (the layer goes into the ROP's file).
_define("Lop", "sopimport", {"primpath": "/$OS", "savepath": ""})
_define("Lop", "configurelayer", {"savepath": ""})
_define("Lop", "sublayer", {"num_files": 1, "filepath1": ""})
_define("Lop", "reference", {"num_files": 1, "filepath1": "", "primpath1": "/$OS"})

# The category a network's children have.
_CHILD_CATEGORY = {"/obj": "Object", "/out": "Driver", "/stage": "Lop"}


# Nodes and parameters --------------------------------------------------------------------


class NetworkItem:
    def __init__(self, *args: Any) -> None:
        pass


class NetworkMovableItem(NetworkItem):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._name: str = args[0]
        self._parent: Node | None = args[1]

    def name(self) -> str:
        return self._name

    def path(self) -> str:
        if self._parent is None:
            return "/"
        base = self._parent.path().rstrip("/")
        return f"{base}/{self._name}"

    def parent(self) -> Node | None:
        return self._parent

    def setSelected(
        self, on: bool, clear_all_selected: bool = False, show_asset_if_selected: bool = False
    ) -> None:
        if clear_all_selected:
            _session.selected = []
        if on and self not in _session.selected:
            _session.selected.append(self)  # type: ignore[arg-type]
        if not on and self in _session.selected:
            _session.selected.remove(self)  # type: ignore[arg-type]


# Session ids: unique for the life of the process, like Houdini's within a session.
_session_ids = itertools.count(1)
_by_session_id: weakref.WeakValueDictionary[int, Node] = weakref.WeakValueDictionary()


class Node(NetworkMovableItem):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args[:2])
        self._type: OpNodeType = args[2]
        self._children: dict[str, Node] = {}
        self._inputs: list[Node | None] = []
        self._errors: list[str] = []
        self._deleted = False
        self._bypassed = False
        # Test controls: make the next render fail, or write nothing.
        self._fail_render: str | None = None
        self._render_writes_nothing = False
        self._session_id = next(_session_ids)
        _by_session_id[self._session_id] = self

    def sessionId(self) -> int:
        return self._session_id

    def _check_alive(self) -> None:
        if self._deleted:
            raise ObjectWasDeleted("Attempt to access an object that no longer exists")

    def type(self) -> OpNodeType:
        self._check_alive()
        return self._type

    def errors(self) -> tuple[str, ...]:
        return tuple(self._errors)

    def warnings(self) -> tuple[str, ...]:
        return ()

    def node(self, node_path: str) -> Node | None:
        if node_path.startswith("/"):
            return node(node_path)
        current: Node | None = self
        for part in node_path.split("/"):
            if current is None:
                return None
            if part == "..":
                current = current.parent()
            elif part not in ("", "."):
                current = current._children.get(part)
        return current

    def createNode(
        self,
        node_type_name: str,
        node_name: str | None = None,
        run_init_scripts: bool = True,
        load_contents: bool = True,
        exact_type_name: bool = False,
        force_valid_node_name: bool = False,
    ) -> Node:
        self._check_alive()
        category = _CHILD_CATEGORY.get(self.path(), "Sop")
        node_type = _TYPES.get(f"{category}/{node_type_name}")
        if node_type is None:
            raise OperationFailed("Invalid node type name")
        name = node_name or _unique_name(self, _base_name(node_type_name))
        if name in self._children:
            raise OperationFailed(f"a node named {name!r} already exists in {self.path()}")
        cls = {"Driver": RopNode, "Lop": LopNode}.get(category, OpNode)
        child = cls(name, self, node_type)
        self._children[name] = child
        _session.unsaved = True
        return child

    def children(self) -> tuple[Node, ...]:
        return tuple(self._children.values())

    def childTypeCategory(self) -> NodeTypeCategory:
        return _CATEGORIES[_CHILD_CATEGORY.get(self.path(), "Sop")]

    def moveToGoodPosition(
        self,
        relative_to_inputs: bool = True,
        move_inputs: bool = True,
        move_outputs: bool = True,
        move_unconnected: bool = True,
    ) -> Any:
        return (0.0, 0.0)

    def destroy(self, disable_safety_checks: bool = False) -> None:
        parent = self._parent
        if parent is not None:
            parent._children.pop(self._name, None)
        self._deleted = True
        _session.unsaved = True

    def inputs(self) -> tuple[Node | None, ...]:
        return tuple(self._inputs)

    def setInput(
        self,
        input_index: int,
        item_to_become_input: NetworkMovableItem | None,
        output_index: int = 0,
    ) -> None:
        while len(self._inputs) <= input_index:
            self._inputs.append(None)
        self._inputs[input_index] = item_to_become_input  # type: ignore[assignment]
        _session.unsaved = True


def _base_name(type_name: str) -> str:
    """'pm::publish_part::1.0' -> 'publish_part', as Houdini names new nodes."""
    parts = type_name.split("::")
    return parts[1] if len(parts) > 1 else parts[0]


def _unique_name(parent: Node, base: str) -> str:
    index = 1
    while f"{base}{index}" in parent._children:
        index += 1
    return f"{base}{index}"


class OpNode(Node):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args)
        self._parms = {name: Parm(self, name, value) for name, value in self._type._parms.items()}

    def parm(self, parm_path: str) -> Parm | None:
        self._check_alive()
        return self._parms.get(parm_path)

    def parms(self) -> tuple[Parm, ...]:
        return tuple(self._parms.values())

    def hdaModule(self) -> HDAModule:
        source = self._type._module_source
        if source is None:
            raise OperationFailed(f"{self._type.name()} is not a digital asset")
        return HDAModule(self._type.name(), source)


class RopNode(OpNode):
    def isBypassed(self) -> bool:
        return self._bypassed

    def render(
        self,
        frame_range: Sequence[float] | None = (),
        res: Sequence[int] | None = (),
        output_file: str | None = None,
        output_format: str = "",
        to_flipbook: bool = False,
        quality: int = 2,
        ignore_inputs: bool = False,
        method: Any = None,
        ignore_bypass_flags: bool = False,
        ignore_lock_flags: bool = False,
        verbose: bool = False,
        output_progress: bool = False,
    ) -> None:
        if self._type.name() != "usd":
            raise OperationFailed(f"the fake renders only usd ROPs, not {self._type.name()}")
        source = node(_eval_string(self, self._parms["loppath"].unexpandedString()))
        if not isinstance(source, LopNode):
            raise OperationFailed(f"{self.path()}: LOP Path does not name a LOP node")
        _render_usd(self, source, frame_range or None)


class LopNode(OpNode):
    def isBypassed(self) -> bool:
        return self._bypassed

    def isDisplayFlagSet(self) -> bool:
        parent = self._parent
        return parent is not None and getattr(parent, "_display", None) is self

    def setDisplayFlag(self, on: bool) -> None:
        parent = self._parent
        if parent is not None and on:
            parent._display = self  # type: ignore[attr-defined]
        elif parent is not None and self.isDisplayFlagSet():
            parent._display = None  # type: ignore[attr-defined]
        _session.unsaved = True

    def displayNode(self) -> LopNode | None:
        return None

    def stage(
        self,
        output_index: int = -1,
        apply_viewport_overrides: bool = False,
        ignore_errors: bool = False,
        use_last_cook_context_options: bool = True,
        apply_post_layers: bool = True,
        frame: float | None = None,
        context_options: Mapping[str, Any] = types.MappingProxyType({}),
    ) -> Any:
        """The composed stage: the root layer sublayers one anonymous layer per save path,
        each with the HoudiniLayerInfo prim Houdini writes (HoudiniSavePath,
        HoudiniSaveControl, HoudiniCreatorNode). None when the network does not cook
        (a bad prim path): the render reports that error."""
        from pxr import Tf, Usd

        try:
            root, saved = _compose(self, [_session.frame])
        except Tf.ErrorException:
            return None
        self._held_layers = [layer for _, layer in saved]  # as LOP nodes hold their layers
        return Usd.Stage.Open(root)


class LopNetwork(OpNode):
    """A LOP network such as /stage: its children are LOPs, one of them displayed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args)
        self._display: LopNode | None = None

    def displayNode(self) -> LopNode | None:
        return self._display


class Parm:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._node: OpNode = args[0]
        self._name: str = args[1]
        self._value: Any = args[2]

    def node(self) -> OpNode:
        return self._node

    def name(self) -> str:
        return self._name

    def path(self) -> str:
        return f"{self._node.path()}/{self._name}"

    def description(self) -> str:
        return self._name

    def eval(self) -> int | float | str:
        if isinstance(self._value, _Expression):
            return float(_eval_string(self._node, self._value.text))
        if isinstance(self._value, str):
            return _eval_string(self._node, self._value)
        return self._value  # type: ignore[no-any-return]

    def evalAsString(self) -> str:
        return str(self.eval())

    def unexpandedString(self) -> str:
        if not isinstance(self._value, str):
            raise OperationFailed("Parameter is not a string")
        return self._value

    def set(
        self,
        value: Any,
        language: EnumValue | None = None,
        follow_parm_reference: bool = True,
    ) -> None:
        self._node._check_alive()
        if isinstance(self._value, str) and not isinstance(value, str):
            raise InvalidInput("Invalid value type for a string parameter")
        self._value = value
        _session.unsaved = True

    def pressButton(
        self, arguments: Mapping[str, int | bool | float | str] = types.MappingProxyType({})
    ) -> None:
        owner = self._node
        if self._name == "execute" and owner.type().name() == "usd_rop":
            _render_usd(owner, owner, None)  # type: ignore[arg-type]
            return
        callback = owner._type._callbacks.get(self._name)
        if callback is None:
            return
        previous = _session.pwd
        _session.pwd = owner
        try:
            kwargs = {"node": owner, "parm": self, "script_value": "0"}
            exec(callback, {"hou": _this_module(), "kwargs": kwargs})
        finally:
            _session.pwd = previous


class HDAModule:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._namespace: dict[str, Any] = {"hou": _this_module(), "__name__": args[0]}
        exec(compile(args[1], f"opdef:{args[0]}?PythonModule", "exec"), self._namespace)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._namespace[name]
        except KeyError:
            raise AttributeError(name) from None


def _eval_string(owner: Node, text: str) -> str:
    """$OS, $HIP, $HIPNAME and $F expanded the way Houdini would for these tests."""
    hip = Path(_session.hip_path)
    values = {
        "OS": owner.name(),
        "HIP": hip.parent.as_posix(),
        "HIPNAME": hip.stem,
        "F": str(int(_session.frame)),
        "FSTART": str(_session.playbar[0]),
        "FEND": str(_session.playbar[1]),
    }
    return re.sub(
        r"\$\{?([A-Z]+)\}?",
        lambda m: values.get(m.group(1), os.environ.get(m.group(1), m.group(0))),
        text,
    )


def _lop_chain(lop: Node) -> list[Node]:
    chain: list[Node] = []
    pending: list[Node | None] = [lop]
    while pending:
        current = pending.pop()
        if current is None or current in chain:
            continue
        chain.append(current)
        pending.extend(current.inputs())
    return chain


def _compose(source: Node, frames: Sequence[float]) -> tuple[Any, list[tuple[str, Any]]]:
    """The root layer of a LOP chain and its layers with a save path ((path, layer),
    in the order the root sublayers them). A node's prims go to its own save path
    (SOP Import), else to the save path of a Configure Layer right below it (it
    configures its input's layer), else to the root layer. The layer names the node
    that made it (HoudiniCreatorNode) and the nodes that edited it, the Configure Layer
    included (HoudiniEditorNodes)."""
    from pxr import Sdf, Usd, UsdGeom, Vt

    root = Sdf.Layer.CreateAnonymous("root")
    layers: dict[str, tuple[Any, Node]] = {}

    def own_save_path(lop: Node) -> str:
        parm = lop.parm("savepath") if isinstance(lop, OpNode) else None
        return os.path.abspath(parm.evalAsString()) if parm and parm.evalAsString() else ""

    def visit(lop: Node, inherited: tuple[str, Node | None], seen: set[int]) -> None:
        if id(lop) in seen:
            return
        seen.add(id(lop))
        own = own_save_path(lop)
        save_path, setter = (own, lop) if own else inherited
        if lop.type().name() == "configurelayer":
            for upstream in lop.inputs():
                if upstream is not None:
                    visit(upstream, (save_path, setter), seen)
            return
        primpath = lop.parm("primpath") if isinstance(lop, OpNode) else None
        if primpath is not None:
            if save_path and save_path not in layers:
                layer = Sdf.Layer.CreateAnonymous("savepath")
                info = Sdf.CreatePrimInLayer(layer, "/HoudiniLayerInfo")
                info.specifier = Sdf.SpecifierDef
                info.typeName = "HoudiniLayerInfo"
                editors = [lop.sessionId()]
                if setter is not None and setter is not lop:
                    editors.append(setter.sessionId())
                info.customData = {
                    "HoudiniSavePath": save_path,
                    "HoudiniSaveControl": "Explicit",
                    "HoudiniCreatorNode": lop.sessionId(),
                    "HoudiniEditorNodes": Vt.IntArray(editors),
                }
                layers[save_path] = (layer, lop)
            target = layers[save_path][0] if save_path else root
            stage = Usd.Stage.Open(target)
            points = UsdGeom.Points.Define(stage, primpath.evalAsString())
            attribute = points.CreatePointsAttr()
            for frame in frames:
                attribute.Set([(0.0, frame, 0.0), (1.0, frame, 0.0)], Usd.TimeCode(frame))
        for upstream in lop.inputs():
            if upstream is not None:
                visit(upstream, ("", None), seen)

    visit(source, ("", None), set())
    saved = [(path, layer) for path, (layer, _) in layers.items()]
    root.subLayerPaths = [layer.identifier for _, layer in saved]
    return root, saved


def _render_usd(rop: OpNode, source: LopNode, frame_range: Sequence[float] | None) -> None:
    """Write the source LOP chain to the ROP's output file, and every layer with a save
    path to that path, as real USD layers."""
    from pxr import Sdf

    _session.renders.append(rop.path())
    broken = [n._fail_render for n in [rop, *_lop_chain(source)] if n._fail_render]
    if broken:
        message = broken[0]
        rop._errors = [message]
        raise OperationFailed(f"The attempted operation failed.\nError: {message}")
    if rop._render_writes_nothing:
        return
    output = Path(rop._parms["lopoutput"].evalAsString())
    if frame_range is None and int(rop._parms["trange"].eval()):
        frame_range = tuple(float(rop._parms[k].eval()) for k in ("f1", "f2", "f3"))
    frames = [_session.frame]
    if frame_range:
        start, end = float(frame_range[0]), float(frame_range[1])
        step = float(frame_range[2]) if len(frame_range) > 2 else 1.0
        frames = [start + i * step for i in range(int((end - start) / step) + 1)]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        root, saved = _compose(source, frames)
        # Like the USD ROP: every layer with a save path is written to it, and the
        # default output processor makes the paths between the files relative.
        for save_path, layer in saved:
            Path(save_path).parent.mkdir(parents=True, exist_ok=True)
            written = Sdf.Layer.CreateAnonymous()
            written.TransferContent(layer)
            if written.GetPrimAtPath("/HoudiniLayerInfo"):
                del written.rootPrims["HoudiniLayerInfo"]
            written.Export(save_path)
        root.subLayerPaths = [
            os.path.relpath(path, output.parent).replace(os.sep, "/") for path, _ in saved
        ]
        root.startTimeCode, root.endTimeCode = frames[0], frames[-1]
        root.Export(str(output))
    except OSError as exc:
        rop._errors = [str(exc)]
        raise OperationFailed(f"Unable to save {output}: {exc.strerror}") from exc
    except Exception as exc:  # pxr's errors: a bad prim path is a cook error in Houdini
        rop._errors = [" ".join(str(exc).split())]
        raise OperationFailed(f"The attempted operation failed.\nError: {exc}") from exc
    if not output.exists():
        rop._errors = [f"Unable to save {output}"]
        raise OperationFailed(f"Unable to save {output}")


# Scene files ------------------------------------------------------------------------------


class hipFile:
    @staticmethod
    def save(file_name: str | None = None, save_to_recent_files: bool = True) -> None:
        if _session.saving_fails:
            raise OperationFailed(_session.saving_fails)
        path = Path(file_name or _session.hip_path)
        document = {"fake_hou_hip": 1, "nodes": _dump(_session.root)}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document, indent=1), encoding="utf-8")
        except OSError as exc:
            raise OperationFailed(f"Unable to save {path}: {exc.strerror}") from exc
        _session.hip_path = path.as_posix()
        _session.is_new = False
        _session.unsaved = False
        _session.saves.append(path.as_posix())

    @staticmethod
    def path() -> str:
        return _session.hip_path

    @staticmethod
    def basename() -> str:
        return Path(_session.hip_path).name

    @staticmethod
    def name() -> str:
        return _session.hip_path

    @staticmethod
    def isNewFile() -> bool:
        return _session.is_new

    @staticmethod
    def hasUnsavedChanges() -> bool:
        # Houdini: "in hython it always returns True".
        return _session.unsaved or not _session.ui_available

    @staticmethod
    def isLoadingHipFile() -> bool:
        return False

    @staticmethod
    def load(
        file_name: str, suppress_save_prompt: bool = False, ignore_load_warnings: bool = False
    ) -> None:
        path = Path(file_name)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise OperationFailed(f"Unable to open {file_name}: {exc.strerror}") from exc
        except ValueError as exc:
            raise OperationFailed(f"{file_name} is not a hip file") from exc
        _new_tree()
        _restore(document["nodes"])
        _session.hip_path = path.absolute().as_posix()
        _session.is_new = False
        _session.unsaved = False
        _session.loads.append(_session.hip_path)

    @staticmethod
    def clear(suppress_save_prompt: bool = False) -> bool:
        _new_tree()
        _session.hip_path = _untitled()
        _session.is_new = True
        _session.unsaved = False
        return True


def _dump(root: Node) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    pending = list(root.children())
    while pending:
        current = pending.pop(0)
        record: dict[str, Any] = {
            "path": current.path(),
            "type": current.type().nameWithCategory(),
            "inputs": [i.path() if i is not None else None for i in current.inputs()],
        }
        if isinstance(current, OpNode):
            record["parms"] = {p.name(): _saved_value(p._value) for p in current.parms()}
        nodes.append(record)
        pending.extend(current.children())
    return nodes


def _saved_value(value: Any) -> Any:
    return {"expression": value.text} if isinstance(value, _Expression) else value


def _loaded_value(value: Any) -> Any:
    return _Expression(value["expression"]) if isinstance(value, dict) else value


def _restore(records: list[dict[str, Any]]) -> None:
    for record in records:
        parent_path, _, name = record["path"].rpartition("/")
        if record["type"].startswith("Manager/"):
            continue
        parent = node(parent_path or "/")
        assert parent is not None, record["path"]
        type_name = record["type"].split("/", 1)[1]
        created = parent.createNode(type_name, name)
        if isinstance(created, OpNode):
            for parm_name, value in record.get("parms", {}).items():
                if parm_name in created._parms:
                    created._parms[parm_name]._value = _loaded_value(value)
    for record in records:
        target = node(record["path"])
        assert target is not None
        for index, source in enumerate(record["inputs"]):
            target.setInput(index, node(source) if source else None)


# UI --------------------------------------------------------------------------------------


class PythonPanelInterface:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._name: str = args[0]

    def name(self) -> str:
        return self._name


class PaneTab:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._name: str = args[0]
        self._interface: PythonPanelInterface | None = args[1] if len(args) > 1 else None

    def name(self) -> str:
        return self._name


class PathBasedPaneTab(PaneTab):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args)
        self._pwd: Node | None = None

    def pwd(self) -> Node:
        return self._pwd or _session.root

    def setPwd(self, node: Node) -> None:
        self._pwd = node


class NetworkEditor(PathBasedPaneTab):
    pass


class Desktop:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def createFloatingPaneTab(
        self,
        pane_tab_type: EnumValue,
        position: Sequence[float] = (),
        size: Sequence[float] = (),
        python_panel_interface: PythonPanelInterface | None = None,
        immediate: bool = False,
    ) -> PaneTab:
        _require_ui()
        tab = PaneTab(f"panetab{len(_session.floating) + 1}", python_panel_interface)
        _session.floating.append(tab)
        return tab


class pypanel:
    @staticmethod
    def installFile(file_path: str) -> None:
        text = Path(file_path).read_text(encoding="utf-8")
        for name in re.findall(r"<interface\s+name=\"([^\"]+)\"", text):
            _session.panel_interfaces[name] = PythonPanelInterface(name)

    @staticmethod
    def interfaceByName(name: str) -> PythonPanelInterface | None:
        return _session.panel_interfaces.get(name)


def _require_ui() -> None:
    if not _session.ui_available:
        raise NotAvailable("hou.ui is not available in the command-line interpreter")


class NotAvailable(Error):
    pass


class ui:
    @staticmethod
    def displayMessage(
        text: str,
        buttons: Sequence[str] = ("OK",),
        severity: EnumValue = severityType.Message,
        default_choice: int = 0,
        close_choice: int = -1,
        help: str | None = None,
        title: str | None = None,
        details: str | None = None,
        details_label: str | None = None,
        details_expanded: bool = False,
        suppress: EnumValue | None = None,
    ) -> int:
        _require_ui()
        answer = _session.answers.pop(0) if _session.answers else default_choice
        _session.messages.append(
            {
                "text": text,
                "buttons": tuple(buttons),
                "severity": severity.name(),
                "title": title,
                "details": details,
                "answer": answer,
            }
        )
        return int(answer)

    @staticmethod
    def readInput(
        text: str,
        buttons: Sequence[str] = ("OK",),
        severity_type: EnumValue = severityType.Message,
        default_choice: int = 0,
        close_choice: int = -1,
        help: str | None = None,
        title: str | None = None,
        initial_contents: str | None = None,
    ) -> tuple[int, str]:
        _require_ui()
        answer = _session.answers.pop(0) if _session.answers else (default_choice, "")
        _session.messages.append(
            {"text": text, "title": title, "initial": initial_contents, "answer": answer}
        )
        return answer  # type: ignore[no-any-return]

    @staticmethod
    def setStatusMessage(message: str, severity: EnumValue = severityType.Message) -> None:
        _require_ui()
        _session.status.append(message)

    @staticmethod
    def curDesktop() -> Desktop:
        _require_ui()
        return Desktop()

    @staticmethod
    def paneTabOfType(type: EnumValue, index: int = 0) -> PaneTab | None:
        _require_ui()
        if type is paneTabType.NetworkEditor and index == 0:
            return _session.network_editor
        return None


class UndosGroup:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._label: str = args[0]

    def label(self) -> str:
        return self._label

    def __enter__(self) -> UndosGroup:
        _session.undo_groups.append(self._label)
        return self

    def __exit__(self, type: Any, value: Any, traceback: Any) -> None:
        return None


class undos:
    @staticmethod
    def group(label: str, editor: NetworkEditor | None = None) -> UndosGroup:
        return UndosGroup(label)


class qt:
    @staticmethod
    def mainWindow() -> Any:
        _require_ui()
        return _session.main_window


class text:
    @staticmethod
    def expandString(str: str, expand_tilde: bool = True) -> str:
        expanded = _eval_string(_session.root, str)
        return os.path.expanduser(expanded) if expand_tilde else expanded


class InterruptableOperation:
    def __init__(
        self,
        operation_name: str,
        long_operation_name: str | None = None,
        open_interrupt_dialog: bool = False,
        timeout_ms: int = 0,
    ) -> None:
        self._record: dict[str, Any] = {
            "name": operation_name,
            "long_name": long_operation_name,
            "dialog": open_interrupt_dialog,
            "progress": [],
        }

    def updateLongProgress(
        self, percentage: float = -1.0, long_op_status: str | None = None
    ) -> None:
        self._record["progress"].append((percentage, long_op_status))
        _session.progress_calls += 1
        if _session.interrupt_at is not None and _session.progress_calls >= _session.interrupt_at:
            raise OperationInterrupted("The operation was interrupted by the user")

    def updateProgress(self, percentage: float = -1.0) -> None:
        self.updateLongProgress(percentage)

    def __enter__(self) -> InterruptableOperation:
        _session.operations.append(self._record)
        return self

    def __exit__(self, type: Any, value: Any, traceback: Any) -> None:
        self._record["closed"] = True


# Module functions --------------------------------------------------------------------------


def node(path: str) -> Node | None:
    if not path.startswith("/"):
        return None
    current: Node | None = _session.root
    for part in path.strip("/").split("/"):
        if not part:
            continue
        if current is None:
            return None
        current = current._children.get(part)
    return current


def nodeBySessionId(session_id: int) -> Node | None:
    found = _by_session_id.get(session_id)
    return None if found is None or found._deleted else found


def selectedNodes(include_hidden: bool = False) -> tuple[Node, ...]:
    return tuple(n for n in _session.selected if not n._deleted)


def pwd() -> Node:
    return _session.pwd or _session.root


def phm() -> HDAModule:
    current = pwd()
    if not isinstance(current, OpNode):
        raise OperationFailed("The current node is not a digital asset")
    return current.hdaModule()


def isUIAvailable() -> bool:
    return _session.ui_available


def lopNodeTypeCategory() -> OpNodeTypeCategory:
    return _CATEGORIES["Lop"]


def licenseCategory() -> EnumValue:
    return _session.license


def isApprentice() -> bool:
    return _session.license in (licenseCategoryType.Apprentice, licenseCategoryType.ApprenticeHD)


def applicationVersion(include_patch: bool = False) -> tuple[int, int, int]:
    return _session.version


def applicationVersionString() -> str:
    return ".".join(str(part) for part in _session.version)


def frame(full_precision: bool = False) -> float:
    return _session.frame


def setFrame(frame: float) -> None:
    _session.frame = frame


def getenv(name: str, default_value: str | None = None) -> str | None:
    return os.environ.get(name, default_value)


def exit(exit_code: int = 0, suppress_save_prompt: bool = False) -> None:
    raise SystemExit(exit_code)


# Test controls ------------------------------------------------------------------------------


class _Session:
    def __init__(self) -> None:
        self.ui_available = False
        self.license = licenseCategoryType.Commercial
        self.version = (21, 0, 512)
        self.frame = 1.0
        self.playbar = (1001.0, 1100.0)
        self.hip_path = _untitled()
        self.is_new = True
        self.unsaved = False
        self.root: Node = Node("", None, _TYPES["Manager/obj"])
        self.pwd: Node | None = None
        self.selected: list[Node] = []
        self.answers: list[Any] = []
        self.messages: list[dict[str, Any]] = []
        self.status: list[str] = []
        self.operations: list[dict[str, Any]] = []
        self.progress_calls = 0
        self.interrupt_at: int | None = None
        self.saves: list[str] = []
        self.loads: list[str] = []
        self.renders: list[str] = []
        self.saving_fails: str | None = None
        self.floating: list[PaneTab] = []
        self.panel_interfaces: dict[str, PythonPanelInterface] = {}
        self.main_window: object = object()
        self.network_editor: NetworkEditor | None = NetworkEditor("panetab1")
        self.undo_groups: list[str] = []


def _untitled() -> str:
    return (Path.cwd() / "untitled.hip").as_posix()


def _this_module() -> types.ModuleType:
    import sys

    return sys.modules[__name__]


def _new_tree() -> None:
    root = Node("", None, _TYPES["Manager/obj"])
    for name in ("obj", "out", "stage"):
        network = LopNetwork if name == "stage" else OpNode
        root._children[name] = network(name, root, _TYPES[f"Manager/{name}"])
    _session.root = root
    _session.selected = []


_session = _Session()


def _reset(ui: bool = False, license: str = "Commercial") -> _Session:
    """A fresh, untitled session; returns its state for the test to steer and inspect."""
    global _session
    _session = _Session()
    _session.ui_available = ui
    _session.license = getattr(licenseCategoryType, license)
    _new_tree()
    for definition in _installed_hdas:
        _TYPES[f"{definition._category.name()}/{definition.name()}"] = definition
    return _session


def _select(*nodes: Node) -> None:
    _session.selected = list(nodes)


_installed_hdas: list[OpNodeType] = []


def _install_hda(expanded_dir: str | os.PathLike[str]) -> list[str]:
    """Install the operators of an expanded HDA folder; returns their type names."""
    library = Path(expanded_dir)
    installed: list[str] = []
    for line in (library / "Sections.list").read_text(encoding="utf-8").splitlines()[1:]:
        folder, _, section = line.partition("\t")
        if "::" not in section or "/" not in section:
            continue
        table, type_name = _split_operator(section)
        operator = library / folder
        parms, callbacks = _parse_dialog_script((operator / "DialogScript").read_text("utf-8"))
        module = operator / "PythonModule"
        definition = OpNodeType(
            type_name,
            _CATEGORIES[table],
            parms,
            callbacks,
            module.read_text("utf-8") if module.exists() else None,
        )
        _installed_hdas.append(definition)
        _TYPES[f"{table}/{type_name}"] = definition
        installed.append(type_name)
    return installed


def _split_operator(section: str) -> tuple[str, str]:
    """'pm::Lop/publish_part::1.0' -> ('Lop', 'pm::publish_part::1.0')."""
    namespace, _, rest = section.partition("::")
    table, _, name = rest.partition("/")
    return table, f"{namespace}::{name}"


class _Expression:
    """A numeric parameter's hscript expression (`[ "$FSTART" hscript-expr ]`)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"_Expression({self.text!r})"


def _parse_dialog_script(source: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(parameter defaults, button callbacks) of a DialogScript; raises ValueError."""
    tokens = _tokens(source)
    parms: dict[str, Any] = {}
    callbacks: dict[str, str] = {}
    for block in _blocks(tokens, "parm"):
        name = _value(block, "name")
        kind = _value(block, "type")
        default = _default(block)
        if kind == "float":
            if isinstance(default, _Expression):
                parms[name] = default
            else:
                parms[name] = float(default) if default else 0.0
        elif kind in ("integer", "toggle", "ordinal", "button"):
            parms[name] = int(str(default)) if default else 0
        elif kind in ("string", "file", "oppath"):
            parms[name] = str(default or "")
        elif kind not in ("separator", "label"):
            raise ValueError(f"parm {name}: unsupported type {kind!r}")
        for tag, value in _parmtags(block):
            if tag == "script_callback":
                callbacks[name] = value
    return parms, callbacks


def _tokens(source: str) -> list[str]:
    lexer = shlex.shlex(source, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens: list[str] = []
    for token in lexer:
        tokens.append(token)
    return tokens


def _blocks(tokens: list[str], keyword: str) -> list[list[str]]:
    found: list[list[str]] = []
    index = 0
    while index < len(tokens):
        if tokens[index] == keyword and index + 1 < len(tokens) and tokens[index + 1] == "{":
            depth, end = 0, index + 1
            while end < len(tokens):
                depth += {"{": 1, "}": -1}.get(tokens[end], 0)
                if depth == 0:
                    break
                end += 1
            found.append(tokens[index + 2 : end])
            index = end
        index += 1
    if not found and "{" not in tokens:
        raise ValueError("no blocks")
    return found


def _value(block: list[str], key: str) -> str:
    for position, token in enumerate(block[:-1]):
        if token == key:
            return block[position + 1]
    raise ValueError(f"parm block without {key!r}: {block[:6]}")


def _default(block: list[str]) -> str | _Expression | None:
    for position, token in enumerate(block[:-2]):
        if token == "default" and block[position + 1] == "{":
            value = block[position + 2]
            if value == "[":
                return _Expression(block[position + 3])
            return value
    return None


def _parmtags(block: list[str]) -> list[tuple[str, str]]:
    tags: list[tuple[str, str]] = []
    for position, token in enumerate(block[:-3]):
        if token == "parmtag" and block[position + 1] == "{":
            tags.append((block[position + 2], block[position + 3]))
    return tags


def _install_from_houdini_path() -> None:
    """Install the expanded HDAs in every `otls/` on HOUDINI_PATH, as Houdini does."""
    for entry in os.environ.get("HOUDINI_PATH", "").split(os.pathsep):
        if entry in ("", "&"):
            continue
        for library in sorted(Path(entry, "otls").glob("*.hda")):
            if library.is_dir():
                _install_hda(library)


_install_from_houdini_path()
_new_tree()
