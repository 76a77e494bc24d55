"""The validators, fuzzed: any input is either accepted in normal form or refused with
pm's ValidationError naming the field; nothing else ever escapes."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_db import schemas
from pm_db.errors import ValidationError
from pm_db.names import MAX_NAME, check_login, check_name
from pm_db.templates import normalize_path

anything = st.one_of(
    st.text(max_size=80),
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
)


@given(anything)
def test_names_are_normalized_or_refused(value: Any) -> None:
    try:
        name = check_name(value, "scene_name")
    except ValidationError as error:
        assert error.field == "scene_name"
        return
    assert name == name.strip() and 1 <= len(name) <= MAX_NAME
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-]*", name)
    assert "/" not in name and "\\" not in name and ".." not in name


@given(anything)
def test_logins_are_normalized_or_refused(value: Any) -> None:
    try:
        login = check_login(value, "artist")
    except ValidationError as error:
        assert error.field == "artist"
        return
    assert login == login.lower() and ".." not in login and "/" not in login
    assert not login.startswith(".") and not login.endswith(".")


@pytest.mark.parametrize(
    "bad", ["", " ", "..", "a/b", "a\\b", "../x", "a b", ".hidden", "x" * 65, "é", "a.b"]
)
def test_the_bad_names_of_the_issue_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        check_name(bad, "code")


def test_names_are_trimmed() -> None:
    assert check_name("  PinchIn ", "scene_name") == "PinchIn"
    assert check_login(" J.Doe ", "artist") == "j.doe"


@given(st.text(max_size=120))
def test_paths_are_normalized_or_refused(value: str) -> None:
    try:
        path = normalize_path(value, "item_usd_path")
    except ValidationError as error:
        assert error.field == "item_usd_path"
        return
    assert path.startswith("/") or re.match(r"^[A-Z]:/", path) or path.startswith("//")
    assert ".." not in path.split("/")
    assert "\\" not in path


@given(st.lists(st.sampled_from(["a", "b.usd", ".", "..", "", " ", "\\"]), max_size=6))
def test_paths_already_normal_are_kept_as_pathlib_would_make_them(parts: list[str]) -> None:
    path = "/show/" + "/".join(parts)
    try:
        normal = normalize_path(path)
    except ValidationError:
        assert ".." in PurePosixPath(path.replace("\\", "/")).parts
        return
    assert normal == PurePosixPath(path.strip().replace("\\", "/")).as_posix()


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/show/FX3X/./a//b/", "/show/FX3X/a/b"),
        ("p:\\FX3X\\a\\b.usd", "P:/FX3X/a/b.usd"),
        ("//server/share/x", "//server/share/x"),
    ],
)
def test_path_normal_forms(raw: str, normal: str) -> None:
    assert normalize_path(raw) == normal


# What any input may hold: text without NUL, whole numbers of 64 bits, finite numbers.
storable_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | storable_text.filter(lambda text: len(text) <= 20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(storable_text.filter(lambda text: len(text) <= 8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(storable_text.filter(lambda text: len(text) <= 10), json_values, max_size=6))
def test_metadata_objects_within_the_bound_are_kept(metadata: dict[str, Any]) -> None:
    request = schemas.parse(
        schemas.ReserveRequest,
        {
            "scene_id": 1,
            "asset_name": "PinchIn",
            "part_name": "p",
            "metadata": metadata,
        },
    )
    assert request.metadata == metadata
    assert json.loads(json.dumps(request.metadata)) == metadata


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "task_id",
                "target_type",
                "target_id",
                "software",
                "source_version",
                "source_iteration",
                "item_usd_path",
                "asset_usd_path",
                "status",
                "metadata",
                "request_id",
                "unknown",
            ]
        ),
        anything,
    )
)
def test_publish_payload_only_ever_raises_validation_error(payload: dict[str, Any]) -> None:
    try:
        schemas.parse(schemas.PublishIn, payload)
    except ValidationError as error:
        assert error.field
