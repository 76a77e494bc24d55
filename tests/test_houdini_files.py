"""The files Houdini loads from the package: the shelf, the expanded HDA, and what runs
(nothing) and is imported (little) at start-up."""

from __future__ import annotations

import ast
import email
import importlib
import json
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# The fake hou must be on sys.path (support does it) before pm_houdini imports hou.
from tests.fake_hou import support

# isort: split
import pm_houdini.hda

REPO = Path(__file__).resolve().parent.parent
HDA = REPO / "otls" / "pm_publish_part.hda"
OPERATOR = HDA / "pm_8_8Lop_1publish__part_8_81.0"
SHELF = REPO / "toolbar" / "pm.shelf"


# The shelf ----------------------------------------------------------------------------------


def shelf_tools() -> dict[str, ET.Element]:
    root = ET.parse(SHELF).getroot()
    assert root.tag == "shelfDocument"
    return {tool.attrib["name"]: tool for tool in root.iter("tool")}


def test_the_shelf_lists_the_five_tools_in_order() -> None:
    root = ET.parse(SHELF).getroot()
    [toolshelf] = root.iter("toolshelf")
    members = [m.attrib["name"] for m in toolshelf.iter("memberTool")]
    assert members == [
        "pm_save",
        "pm_version_up",
        "pm_save_as",
        "pm_publish",
        "pm_asset_browser",
    ]
    assert set(members) == set(shelf_tools())
    labels = [shelf_tools()[m].attrib["label"] for m in members]
    assert labels == ["Save", "Version Up", "Save As", "Publish", "Asset Browser"]


def test_every_shelf_tool_calls_one_real_pm_houdini_function() -> None:
    for name, tool in shelf_tools().items():
        script = tool.find("script")
        assert script is not None and script.attrib["scriptType"] == "python"
        tree = ast.parse(script.text or "")
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert len(calls) == 1, name
        target = ast.unparse(calls[0].func)
        module_name, _, function = target.rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, function)), f"{name} calls {target}, which does not exist"
        assert module_name == "pm_houdini.shelf"


def test_every_shelf_tool_has_help_and_an_icon_that_exists() -> None:
    for name, tool in shelf_tools().items():
        help_text = tool.findtext("helpText") or ""
        assert help_text.startswith("= ") and len(help_text) > 60, name
        icon = tool.attrib["icon"]
        assert icon.startswith("$PM_ROOT/"), name
        path = REPO / icon.removeprefix("$PM_ROOT/")
        assert path.is_file(), f"{name}: {path}"
        ET.parse(path)  # the SVG is well-formed XML


# The HDA ------------------------------------------------------------------------------------


def sections(folder: Path) -> dict[str, str]:
    lines = (folder / "Sections.list").read_text(encoding="utf-8").splitlines()
    assert lines[0] == '""'
    return dict(line.split("\t") for line in lines[1:] if line)


def encode_operator(section: str) -> str:
    """Houdini's folder name for an operator section ('::' -> '_8_8', '/' -> '_1')."""
    return section.replace("_", "__").replace(":", "_8").replace("/", "_1")


def test_the_expanded_hda_lists_files_that_exist() -> None:
    library = sections(HDA)
    assert library["INDEX__SECTION"] == "INDEX_SECTION"
    assert library["houdini.hdalibrary"] == "houdini.hdalibrary"
    operators = {f: s for f, s in library.items() if "::" in s}
    assert operators == {encode_operator("pm::Lop/publish_part::1.0"): "pm::Lop/publish_part::1.0"}
    for file in library:
        assert (HDA / file).exists(), file
    for file, section in sections(OPERATOR).items():
        if section == "Contents.gz":
            assert (OPERATOR / "Contents.dir").is_dir()
        else:
            assert (OPERATOR / file).is_file(), file


def test_the_index_describes_one_lop_with_one_input() -> None:
    text = (HDA / "INDEX__SECTION").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^(\w+):[ \t]*(.*?)[ \t]*$", text, flags=re.MULTILINE))
    assert fields["Operator"] == "pm::publish_part::1.0"
    assert fields["Table"] == "Lop"
    assert fields["Path"] == "oplib:/pm::Lop/publish_part::1.0?pm::Lop/publish_part::1.0"
    assert fields["Inputs"] == "1 to 1" and fields["Subnet"] == "true"
    assert fields["Icon"].endswith("?IconSVG")
    ET.fromstring((OPERATOR / "IconSVG").read_text(encoding="utf-8"))


def test_the_dialog_script_has_the_parameters_and_the_button() -> None:
    parms, callbacks = support.hou._parse_dialog_script(
        (OPERATOR / "DialogScript").read_text(encoding="utf-8")
    )
    assert {"asset", "part", "trange", "f1", "f2", "f3", "publish"} <= set(parms)
    assert parms["part"] == "$OS" and parms["asset"] == ""
    assert callbacks == {"publish": "hou.phm().publish(kwargs)"}


def test_the_button_callback_reaches_a_real_pm_houdini_function() -> None:
    callback = ast.parse("hou.phm().publish(kwargs)").body[0]
    assert isinstance(callback, ast.Expr) and isinstance(callback.value, ast.Call)
    assert isinstance(callback.value.func, ast.Attribute)
    called = callback.value.func.attr
    module = ast.parse((OPERATOR / "PythonModule").read_text(encoding="utf-8"))
    functions = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
    assert called in functions
    inner = [ast.unparse(c.func) for c in ast.walk(functions[called]) if isinstance(c, ast.Call)]
    assert inner == ["pm_houdini.hda.publish_button"]
    assert callable(pm_houdini.hda.publish_button)


def test_the_json_and_xml_sections_parse() -> None:
    for name in ("ExtraFileOptions", "InternalFileOptions"):
        json.loads((OPERATOR / name).read_text(encoding="utf-8"))
    options = json.loads((OPERATOR / "ExtraFileOptions").read_text(encoding="utf-8"))
    assert options["PythonModule/IsPython"]["value"] is True
    for name in ("Contents.createtimes", "Contents.modtimes", "Contents.houdini_versions"):
        json.loads((OPERATOR / "Contents.dir" / name).read_text(encoding="utf-8"))
    tool = ET.parse(OPERATOR / "Tools.shelf").getroot().find("tool")
    assert tool is not None and tool.findtext("toolSubmenu") == "pm"
    props = (OPERATOR / "TypePropertiesOptions").read_text(encoding="utf-8").splitlines()
    assert all(re.fullmatch(r"\w+ := \d+;", line) for line in props)
    assert "publish" in (OPERATOR / "Help").read_text(encoding="utf-8").lower()


def test_the_contents_pass_the_input_stage_through() -> None:
    message = email.message_from_string(
        (OPERATOR / "Contents.dir" / "Contents.mime").read_text(encoding="utf-8")
    )
    assert message.is_multipart()
    parts = {p.get_filename(): p.get_payload() for p in message.get_payload()}
    assert parts["node_type"].strip() == "Lop"
    assert "type = pm::publish_part::1.0" in parts["hdaroot.init"]
    assert "type = output" in parts["hdaroot/output0.init"]
    inputs = parts["hdaroot/output0.def"].split("inputs\n{\n", 1)[1].split("}", 1)[0]
    assert inputs.split() == ["0", "(0)", "0", "1"]  # output0 <- the asset's first input


# Start-up -----------------------------------------------------------------------------------


def test_nothing_of_pm_runs_before_houdinis_ui_is_ready() -> None:
    startup = ("pythonrc.py", "ready.py", "123.py", "456.py", "456.cmd")
    found = [p.relative_to(REPO) for p in REPO.glob("python3.*libs/*") if p.name in startup] + [
        p.relative_to(REPO) for p in REPO.glob("scripts/*") if p.name in startup
    ]
    assert found == []
    # Only uiready.py, for each Houdini Python, which starts the background preload.
    uiready = sorted(p.relative_to(REPO).as_posix() for p in REPO.glob("python3.*libs/uiready.py"))
    assert uiready == ["python3.10libs/uiready.py", "python3.11libs/uiready.py"]
    for name in uiready:
        code = (REPO / name).read_text().split('"""')[-1].split()
        assert code == ["from", "pm_houdini", "import", "preload", "preload.start()"]


@pytest.mark.parametrize(
    "module", ["pm_houdini.shelf", "pm_houdini.hda", "pm_houdini.batch", "pm_houdini.publish"]
)
def test_the_first_click_imports_no_database_qt_or_usd_stack(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = ('sqlalchemy', 'pydantic', 'pxr', 'PySide6', 'PySide2', 'alembic', 'psycopg',"
        " 'psycopg2')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=support.batch_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# The HDA against one Houdini wrote ----------------------------------------------------------

REFERENCE = json.loads(
    (REPO / "tests" / "data" / "houdini_written_lop_hda.json").read_text(encoding="utf-8")
)
# Sections a LOP HDA has whatever its contents; the icon and the Python sections vary.
CORE_SECTIONS = {
    "DialogScript",
    "CreateScript",
    "InternalFileOptions",
    "Contents.gz",
    "TypePropertiesOptions",
    "Help",
    "Tools.shelf",
    "ExtraFileOptions",
}


def mime_parts() -> list[str]:
    message = email.message_from_string(
        (OPERATOR / "Contents.dir" / "Contents.mime").read_text(encoding="utf-8")
    )
    return [str(p.get_filename()) for p in message.get_payload()]


def test_the_operator_has_every_section_houdini_writes_for_a_lop_hda() -> None:
    ours = list(sections(OPERATOR).values())
    reference = REFERENCE["operator_sections"]
    assert set(reference) & CORE_SECTIONS == CORE_SECTIONS
    assert set(ours) >= CORE_SECTIONS
    # Houdini writes the core sections in the same order every time.
    assert [s for s in ours if s in CORE_SECTIONS][:5] == [
        s for s in reference if s in CORE_SECTIONS
    ][:5]


def test_the_contents_have_the_parts_houdini_writes_for_this_shape() -> None:
    # The reference's parts without its two other children, and without hdaroot.order,
    # which Houdini writes only for two or more children.
    expected = [
        part
        for part in REFERENCE["contents_parts"]
        if part != "hdaroot.order"
        and (not part.startswith("hdaroot/") or part.startswith("hdaroot/output0."))
    ]
    assert "hdaroot.inp" in expected
    assert mime_parts() == expected


def test_the_subnet_input_is_written_as_houdini_writes_it() -> None:
    message = email.message_from_string(
        (OPERATOR / "Contents.dir" / "Contents.mime").read_text(encoding="utf-8")
    )
    parts = {p.get_filename(): p.get_payload() for p in message.get_payload()}
    ours = parts["hdaroot.inp"].splitlines()
    reference = REFERENCE["hdaroot_inp"].splitlines()
    assert ours[0] == reference[0] == "1"  # one subnet input indicator
    assert shlex.split(ours[1])[5:] == shlex.split(reference[1])[5:]
    assert len(shlex.split(ours[1])) == len(shlex.split(reference[1]))


def test_the_pm_shelf_joins_the_default_shelf_sets() -> None:
    root = ET.parse(SHELF).getroot()
    [toolshelf] = root.iter("toolshelf")
    edits = {e.attrib["name"]: e for e in root.iter("shelfSetEdit")}
    assert set(edits) == {"shelf_set_1", "shelf_set_td"}
    for edit in edits.values():
        assert edit.attrib["fileLocation"] == ""
        [member] = edit.iter("addMemberToolshelf")
        assert member.attrib["name"] == toolshelf.attrib["name"]
        assert int(member.attrib["inPosition"]) >= 0
