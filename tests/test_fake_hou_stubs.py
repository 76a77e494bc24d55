"""The fake `hou` agrees with Houdini's own API as published in hou-stubs (types-houdini),
of Houdini 21.0 (installed with the dev extra) and of 20.5 (types-houdini 20.5.487.0,
downloaded once into the temporary folder: marked `network`).

Every public class, function, method and enumeration value of tests/fake_hou/hou.py must
exist in the stubs with the same parameters (names, order, kinds, which have defaults)
and the same static-ness, and every fake class must derive from what its stub derives
from. A fake that drifted from Houdini would let pm_houdini pass tests and fail in Houdini.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import tempfile
import types
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

FAKE_DIR = Path(__file__).parent / "fake_hou"
CHECKED_DUNDERS = {"__init__", "__enter__", "__exit__", "__getattr__"}


STUB_WHEELS = {"20.5": "types-houdini==20.5.487.0"}
# Parameters Houdini added in 21.0: the fake has them (as 21.0 does); compared with the
# 20.5 stubs they are left out, and pm_houdini never passes them.
NEW_IN_21 = {("InterruptableOperation", "__init__"): ("timeout_ms",)}
VERSIONS = [pytest.param("21.0"), pytest.param("20.5", marks=pytest.mark.network)]


def stub_path(version: str = "21.0") -> Path:
    if version in STUB_WHEELS:
        return downloaded_stubs(STUB_WHEELS[version])
    for entry in sys.path:
        candidate = Path(entry) / "hou-stubs" / "__init__.pyi"
        if candidate.exists():
            return candidate
    raise AssertionError("hou-stubs is not installed; `pip install types-houdini`")


def downloaded_stubs(requirement: str) -> Path:
    """hou-stubs of another Houdini version, from its types-houdini wheel."""
    folder = Path(tempfile.gettempdir()) / f"pm-{requirement.replace('==', '-')}"
    stub = folder / "hou-stubs" / "__init__.pyi"
    if not stub.exists():
        wheels = folder.with_name(folder.name + ".wheel")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels)]
        subprocess.run([*command, requirement], check=True, capture_output=True)
        [wheel] = wheels.glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(folder)
    return stub


@cache
def stubs(version: str = "21.0") -> tuple[dict[str, ast.ClassDef], dict[str, ast.FunctionDef]]:
    tree = ast.parse(stub_path(version).read_text(encoding="utf-8"))
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    return classes, functions


def stub_mro(name: str, version: str = "21.0") -> list[ast.ClassDef]:
    classes, _ = stubs(version)
    order: list[ast.ClassDef] = []
    pending = [name]
    while pending:
        current = classes.get(pending.pop(0))
        if current is None or current in order:
            continue
        order.append(current)
        pending.extend(b.id for b in current.bases if isinstance(b, ast.Name))
    return order


def stub_member(
    class_name: str, member: str, version: str = "21.0"
) -> ast.FunctionDef | ast.stmt | None:
    for cls in stub_mro(class_name, version):
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


@pytest.mark.parametrize("version", VERSIONS)
def test_every_fake_function_is_a_stub_function_with_the_same_parameters(
    fake_hou: types.ModuleType, version: str
) -> None:
    _, functions = stubs(version)
    checked = 0
    for name, value in public_names(fake_hou):
        if not inspect.isfunction(value):
            continue
        assert name in functions, f"hou.{name} does not exist in hou-stubs {version}"
        assert fake_params(value, False) == stub_params(functions[name], False), (
            f"hou.{name} parameters differ from hou-stubs {version}"
        )
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("version", VERSIONS)
def test_every_fake_class_member_is_in_the_stubs_with_the_same_signature(
    fake_hou: types.ModuleType, version: str
) -> None:
    classes, _ = stubs(version)
    members = 0
    for name, cls in public_names(fake_hou):
        if not inspect.isclass(cls):
            continue
        assert name in classes, f"hou.{name} is not a class in hou-stubs"
        stub_ancestors = {c.name for c in stub_mro(name, version)}
        for base in cls.__mro__[1:]:
            if base.__module__ == fake_hou.__name__ and not base.__name__.startswith("_"):
                assert base.__name__ in stub_ancestors, (
                    f"hou.{name} derives from {base.__name__} in the fake, not in hou-stubs"
                )
        for member, raw in vars(cls).items():
            if member.startswith("_") and member not in CHECKED_DUNDERS:
                continue
            stub = stub_member(name, member, version)
            assert stub is not None, f"hou.{name}.{member} does not exist in hou-stubs {version}"
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
                newer = NEW_IN_21.get((name, member), ()) if version != "21.0" else ()
                params = [p for p in fake_params(raw, True) if p[0] not in newer]
                assert params == stub_params(stub, True), (
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


@pytest.mark.network
def test_what_the_fake_leaves_out_for_20_5_is_new_in_21() -> None:
    for (name, member), params in NEW_IN_21.items():
        old, new = stub_member(name, member, "20.5"), stub_member(name, member, "21.0")
        assert isinstance(old, ast.FunctionDef) and isinstance(new, ast.FunctionDef)
        for param in params:
            assert param not in {p[0] for p in stub_params(old, True)}
            assert param in {p[0] for p in stub_params(new, True)}
    used = " ".join(
        p.read_text() for p in Path(FAKE_DIR.parent.parent, "python3.10libs").rglob("*.py")
    )
    for params in NEW_IN_21.values():
        assert not any(f"{param}=" in used for param in params)


def test_exceptions_derive_from_hou_error_as_in_the_stubs(fake_hou: types.ModuleType) -> None:
    for name in ("OperationFailed", "OperationInterrupted", "LoadWarning", "NotAvailable"):
        assert issubclass(getattr(fake_hou, name), fake_hou.Error)
        assert "Error" in {c.name for c in stub_mro(name)}
