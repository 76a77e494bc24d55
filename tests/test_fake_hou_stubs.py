"""The fake `hou` agrees with Houdini's own API as published in hou-stubs (types-houdini).

Every public class, function, method and enumeration value of tests/fake_hou/hou.py must
exist in the stubs with the same parameters (names, order, kinds, which have defaults)
and the same static-ness, and every fake class must derive from what its stub derives
from. A fake that drifted from Houdini would let pm_houdini pass tests and fail in Houdini.
"""

from __future__ import annotations

import ast
import inspect
import sys
import types
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

FAKE_DIR = Path(__file__).parent / "fake_hou"
CHECKED_DUNDERS = {"__init__", "__enter__", "__exit__", "__getattr__"}


def stub_path() -> Path:
    for entry in sys.path:
        candidate = Path(entry) / "hou-stubs" / "__init__.pyi"
        if candidate.exists():
            return candidate
    raise AssertionError("hou-stubs is not installed; `pip install types-houdini`")


@cache
def stubs() -> tuple[dict[str, ast.ClassDef], dict[str, ast.FunctionDef]]:
    tree = ast.parse(stub_path().read_text(encoding="utf-8"))
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    return classes, functions


def stub_mro(name: str) -> list[ast.ClassDef]:
    classes, _ = stubs()
    order: list[ast.ClassDef] = []
    pending = [name]
    while pending:
        current = classes.get(pending.pop(0))
        if current is None or current in order:
            continue
        order.append(current)
        pending.extend(b.id for b in current.bases if isinstance(b, ast.Name))
    return order


def stub_member(class_name: str, member: str) -> ast.FunctionDef | ast.stmt | None:
    for cls in stub_mro(class_name):
        for node in cls.body:
            if isinstance(node, ast.FunctionDef) and node.name == member:
                return node
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(target, ast.Name) and target.id == member:
                return node
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == member for t in node.targets
            ):
                return node
    return None


def stub_params(func: ast.FunctionDef, drop_self: bool) -> list[tuple[str, str, bool]]:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [False] * (len(positional) - len(args.defaults)) + [True] * len(args.defaults)
    params = [(a.arg, "positional", d) for a, d in zip(positional, defaults, strict=True)]
    if drop_self and params and params[0][0] in ("self", "cls"):
        params = params[1:]
    if args.vararg:
        params.append((args.vararg.arg, "var_positional", False))
    for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append((a.arg, "keyword_only", d is not None))
    if args.kwarg:
        params.append((args.kwarg.arg, "var_keyword", False))
    return params


def fake_params(func: Any, drop_self: bool) -> list[tuple[str, str, bool]]:
    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: "positional",
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
        inspect.Parameter.VAR_POSITIONAL: "var_positional",
        inspect.Parameter.KEYWORD_ONLY: "keyword_only",
        inspect.Parameter.VAR_KEYWORD: "var_keyword",
    }
    params = [
        (p.name, kinds[p.kind], p.default is not inspect.Parameter.empty)
        for p in inspect.signature(func).parameters.values()
    ]
    if drop_self and params and params[0][0] == "self":
        params = params[1:]
    return params


def is_static(node: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


@pytest.fixture(scope="module")
def fake_hou() -> types.ModuleType:
    sys.path.insert(0, str(FAKE_DIR))
    try:
        import hou
    finally:
        sys.path.remove(str(FAKE_DIR))
    return hou


def public_names(module: types.ModuleType) -> Iterator[tuple[str, Any]]:
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if getattr(value, "__module__", None) != module.__name__:
            continue  # imported helpers (json, Path, ...)
        yield name, value


def test_every_fake_function_is_a_stub_function_with_the_same_parameters(
    fake_hou: types.ModuleType,
) -> None:
    _, functions = stubs()
    checked = 0
    for name, value in public_names(fake_hou):
        if not inspect.isfunction(value):
            continue
        assert name in functions, f"hou.{name} does not exist in hou-stubs"
        assert fake_params(value, False) == stub_params(functions[name], False), (
            f"hou.{name} parameters differ from hou-stubs"
        )
        checked += 1
    assert checked >= 10


def test_every_fake_class_member_is_in_the_stubs_with_the_same_signature(
    fake_hou: types.ModuleType,
) -> None:
    classes, _ = stubs()
    members = 0
    for name, cls in public_names(fake_hou):
        if not inspect.isclass(cls):
            continue
        assert name in classes, f"hou.{name} is not a class in hou-stubs"
        stub_ancestors = {c.name for c in stub_mro(name)}
        for base in cls.__mro__[1:]:
            if base.__module__ == fake_hou.__name__ and not base.__name__.startswith("_"):
                assert base.__name__ in stub_ancestors, (
                    f"hou.{name} derives from {base.__name__} in the fake, not in hou-stubs"
                )
        for member, raw in vars(cls).items():
            if member.startswith("_") and member not in CHECKED_DUNDERS:
                continue
            stub = stub_member(name, member)
            assert stub is not None, f"hou.{name}.{member} does not exist in hou-stubs"
            if isinstance(raw, staticmethod):
                assert isinstance(stub, ast.FunctionDef) and is_static(stub), (
                    f"hou.{name}.{member} is static in the fake but not in hou-stubs"
                )
                assert fake_params(raw.__func__, False) == stub_params(stub, False), (
                    f"hou.{name}.{member} parameters differ from hou-stubs"
                )
            elif inspect.isfunction(raw):
                assert isinstance(stub, ast.FunctionDef) and not is_static(stub), (
                    f"hou.{name}.{member} is a method in the fake but not in hou-stubs"
                )
                assert fake_params(raw, True) == stub_params(stub, True), (
                    f"hou.{name}.{member} parameters differ from hou-stubs"
                )
            else:
                assert not isinstance(stub, ast.FunctionDef), (
                    f"hou.{name}.{member} is a value in the fake but a function in hou-stubs"
                )
            members += 1
    assert members >= 60


def test_the_checker_catches_a_drifted_fake(fake_hou: types.ModuleType) -> None:
    """The comparison itself can fail: a renamed parameter is caught."""
    _, functions = stubs()

    def node(node_path: str) -> None:
        """hou.node with a parameter name the stubs do not have."""

    assert fake_params(node, False) != stub_params(functions["node"], False)
    assert stub_member("RopNode", "render") is not None
    assert stub_member("RopNode", "renderWithWishes") is None


def test_exceptions_derive_from_hou_error_as_in_the_stubs(fake_hou: types.ModuleType) -> None:
    for name in ("OperationFailed", "OperationInterrupted", "LoadWarning", "NotAvailable"):
        assert issubclass(getattr(fake_hou, name), fake_hou.Error)
        assert "Error" in {c.name for c in stub_mro(name)}
