"""The API document's patterns say exactly what the validators accept: generated text,
text generated from each pattern, and the edge cases, checked both ways (a name the
pattern allows is one check_name accepts, and the other way round)."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from pm_db import schemas
from pm_db.errors import ValidationError
from pm_db.names import check_login, check_name

EDGES = [
    "CON",
    "con ",
    " aux",
    "Con.x",
    "conx",
    "com1",
    "COM¹",
    "lpt0",
    "a.b",
    "a..b",
    "a.",
    ".a",
    "  ab  ",
    "a" * 64,
    "a" * 65,
    " " + "a" * 64 + " ",
    "a\x1c",
    "\x1ca",
    "j.doe",
    "a b",
    "é",
    "A-b_c",
    "\u00a0abc",
    "a\tb",
    "\ta",
    "a\x85",
    " ",
    "",
    "a\u2028b",
    "-a",
    "_a",
    "a" * 200,
    "a" * 201,
    " " + "a" * 200 + "\n",
    "a\x00b",
    "conin$",
    "CONOUT$.x",
]


class _Field:
    field_name = "name"


def _accepts(check: Callable[[str], object], value: str) -> bool:
    try:
        check(value)
    except ValidationError:
        return False
    return True


CASES = [
    (schemas.NAME_PATTERN, lambda v: check_name(v, "name")),
    (schemas.LOGIN_PATTERN, lambda v: check_login(v, "login")),
    (schemas.LABEL_PATTERN, lambda v: schemas._label(v, _Field())),
]
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


def _agree(value: str) -> None:
    for pattern, check in CASES:
        # re.search with the anchors, as JSON Schema reads a pattern.
        assert bool(re.search(pattern, value)) == _accepts(check, value), (pattern, value)


def test_the_edge_cases_agree() -> None:
    for value in EDGES:
        _agree(value)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_any_text_agrees(value: str) -> None:
    _agree(value)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(CASES).flatmap(lambda case: st.from_regex(case[0])))
def test_text_made_from_the_patterns_agrees(value: str) -> None:
    _agree(value)
