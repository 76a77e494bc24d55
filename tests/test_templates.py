"""Path templates: format and parse are an exact inverse pair; overrides are checked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pm_db.errors import FormatError, ParseError, ValidationError
from pm_db.templates import DEFAULT_TEMPLATES, Template, TemplateSet, check_overrides

SHOT_FIELDS = {
    "root": "/show/FX3X",
    "sequence": "SQ010",
    "shot": "SH010",
    "step": "fx",
    "software": "houdini",
    "artist": "jdoe",
    "scene": "PinchIn",
    "version": 3,
    "iteration": 7,
    "ext": "hip",
    "asset": "PinchIn",
    "part": "particles01",
}
ASSET_FIELDS = {
    **{k: v for k, v in SHOT_FIELDS.items() if k not in ("sequence", "shot")},
    "asset_type": "prop",
    "asset_name": "Rock",
}


def test_defaults_reproduce_the_original_layout() -> None:
    templates = TemplateSet()
    show = "/show/FX3X/sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn"
    assert templates.get("scene_file", "shot").format(SHOT_FIELDS) == (
        f"{show}/PinchIn_v003_i007.hip"
    )
    assert templates.get("part_data", "shot").format(SHOT_FIELDS) == (
        f"{show}/usd/PinchIn/particles01/data/particles01_v003_i007.usd"
    )
    assert templates.get("part_layer", "shot").format(SHOT_FIELDS) == (
        f"{show}/usd/PinchIn/particles01/particles01.usd"
    )
    assert templates.get("asset_layer", "shot").format(SHOT_FIELDS) == (
        f"{show}/usd/PinchIn/PinchIn.usd"
    )
    assert templates.get("scene_file", "asset").format(ASSET_FIELDS) == (
        "/show/FX3X/assets/prop/Rock/fx/houdini/scenes/jdoe/PinchIn/PinchIn_v003_i007.hip"
    )


@pytest.mark.parametrize("name", sorted(DEFAULT_TEMPLATES))
@pytest.mark.parametrize("target", ["shot", "asset"])
def test_every_template_round_trips(name: str, target: str) -> None:
    template = TemplateSet().get(name, target)
    fields = SHOT_FIELDS if target == "shot" else ASSET_FIELDS
    if name.endswith("_work"):
        fields = SHOT_FIELDS if name == "shot_work" else ASSET_FIELDS
    path = template.format(fields)
    parsed = template.parse(path)
    assert parsed == {k: fields[k] for k in template.fields}
    assert template.format(parsed) == path


@pytest.mark.parametrize("ext", ["hip", "hipnc", "hiplc"])
def test_license_extensions_round_trip(ext: str) -> None:
    template = TemplateSet().get("scene_file", "shot")
    path = template.format({**SHOT_FIELDS, "ext": ext})
    assert path.endswith(f"_v003_i007.{ext}")
    assert template.parse(path)["ext"] == ext


def test_numbers_past_the_padding_still_round_trip() -> None:
    template = TemplateSet().get("scene_file", "shot")
    path = template.format({**SHOT_FIELDS, "version": 1234, "iteration": 5})
    assert "_v1234_i005." in path
    assert template.parse(path)["version"] == 1234


@pytest.mark.parametrize(
    "spelling",
    [
        "PinchIn_v0003_i007.hip",
        "PinchIn_v03_i007.hip",
        "PinchIn_v000_i007.hip",
        "Other_v003_i007.hip",
    ],
)
def test_parse_refuses_non_canonical_or_inconsistent_paths(spelling: str) -> None:
    template = TemplateSet().get("scene_file", "shot")
    path = "/show/FX3X/sequences/SQ010/SH010/fx/houdini/scenes/jdoe/PinchIn/" + spelling
    with pytest.raises(ParseError):
        template.parse(path)


def test_format_names_the_missing_or_bad_field() -> None:
    template = TemplateSet().get("scene_file", "shot")
    with pytest.raises(FormatError) as missing:
        template.format({k: v for k, v in SHOT_FIELDS.items() if k != "shot"})
    assert missing.value.field == "shot"
    with pytest.raises(FormatError) as bad:
        template.format({**SHOT_FIELDS, "scene": "../etc"})
    assert bad.value.field == "scene"
    with pytest.raises(FormatError) as zero:
        template.format({**SHOT_FIELDS, "version": 0})
    assert zero.value.field == "version"


def test_project_override_is_used_and_round_trips() -> None:
    templates = TemplateSet({"shot_work": "{root}/shots/{sequence}_{shot}/{step}"})
    template = templates.get("scene_file", "shot")
    path = template.format(SHOT_FIELDS)
    assert path == "/show/FX3X/shots/SQ010_SH010/fx/scenes/jdoe/PinchIn/PinchIn_v003_i007.hip"
    assert template.parse(path)["shot"] == "SH010"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"nonsense": "{root}/x"}, "templates.nonsense"),
        ({"scene_file": "{@scene_folder}/{scene}.{ext}"}, "templates.scene_file"),
        ({"shot_work": "{root}/{sequence}/{colour}"}, "templates.shot_work"),
        ({"shot_work": "{root}/../{sequence}/{shot}"}, "templates.shot_work"),
        ({"shot_work": "/fixed/{sequence}/{shot}"}, "templates.shot_work"),
        ({"shot_work": "{root}/{sequence}/{shot"}, "templates.shot_work"),
        ({"part_data": "{@scene_folder}/{part}_v{version:03}.usd"}, "templates.part_data"),
    ],
)
def test_bad_overrides_are_refused_naming_the_template(
    overrides: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        check_overrides(overrides)
    assert error.value.field == field


names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,20}", fullmatch=True)
logins = st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,10}(\.[a-z0-9]{1,5})?", fullmatch=True)
numbers = st.integers(min_value=1, max_value=99_999)


@given(
    sequence=names,
    shot=names,
    step=names,
    artist=logins,
    scene=names,
    asset=names,
    part=names,
    version=numbers,
    iteration=numbers,
)
def test_part_data_round_trips_for_any_valid_fields(
    sequence: str,
    shot: str,
    step: str,
    artist: str,
    scene: str,
    asset: str,
    part: str,
    version: int,
    iteration: int,
) -> None:
    template = TemplateSet().get("part_data", "shot")
    fields = {
        "root": "/show/FX3X",
        "sequence": sequence,
        "shot": shot,
        "step": step,
        "software": "houdini",
        "artist": artist,
        "scene": scene,
        "asset": asset,
        "part": part,
        "version": version,
        "iteration": iteration,
    }
    assert template.parse(template.format(fields)) == fields


@given(st.text(max_size=200))
def test_parse_never_crashes_on_garbage(path: str) -> None:
    template = TemplateSet().get("scene_file", "shot")
    try:
        fields = template.parse(path)
    except ParseError:
        return
    assert template.format(fields) == path


def test_template_fields_in_order() -> None:
    template = Template("t", "{root}/{a_b}/{scene}/{scene}_v{version:03}")
    assert template.fields == ("root", "a_b", "scene", "version")
