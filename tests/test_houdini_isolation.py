"""pm inside a stand-in Houdini: Houdini's own packages always win over pm's vendored ones.

The stand-in is a Python of its own (a venv without pip, so `site` processes its
site-packages exactly as Houdini's `$HFS/python*/lib/site-packages`) holding its own
copies of packages Houdini ships and pm's dependencies also bring (requests, urllib3,
certifi, idna, charset_normalizer, typing_extensions, markupsafe, click). The package
root holds a vendor folder with pm's copies of the same names plus what Houdini lacks
(sqlalchemy, pydantic, psycopg2, alembic). Each copy says whose it is.

A subprocess then starts the way Houdini starts its Python with the package loaded: the
environment is what the package file says (read here by this test's own reader of
package files, not pm's writer), each `HOUDINI_PATH` entry's `python3.Xlibs` folder is on
`sys.path`, and pm's code is entered through `import pm_houdini`, as every shelf tool,
panel, HDA and the batch do. It reports which copy each import found.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any

import pytest

from pm_db.cli import houdini_commands, main

REPO = Path(__file__).resolve().parent.parent
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
SYSTEM = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
HOUDINI_SHIPS = (
    "requests",
    "urllib3",
    "certifi",
    "idna",
    "charset_normalizer",
    "typing_extensions",
    "markupsafe",
    "click",
)
ONLY_PM_VENDORS = ("sqlalchemy", "pydantic", "psycopg2", "alembic")


# A reader of Houdini package files, written from SideFX's description (plugins.html):
# `env` entries in order, `$NAME` expanded from what is set so far, list values joined
# with the path separator, `{"expression": value}` items kept where the expression holds,
# `method: append` after the existing value, `path` on HOUDINI_PATH, `enable` gating all.


def holds(expression: str, facts: dict[str, str]) -> bool:
    """`houdini_version >= '20.0' and houdini_os == 'linux'` against `facts`."""
    result = True
    for clause in expression.split(" and "):
        match = re.fullmatch(r"\s*(\w+)\s*(==|!=|>=|<=|<|>)\s*'([^']*)'\s*", clause)
        assert match, f"cannot read {clause!r}"
        name, operator, value = match.groups()
        left = facts[name]
        if name == "houdini_version":
            left_key: Any = tuple(int(p) for p in left.split("."))
            right_key: Any = tuple(int(p) for p in value.split("."))
        else:
            left_key, right_key = left, value
        result &= {
            "==": left_key == right_key,
            "!=": left_key != right_key,
            ">=": left_key >= right_key,
            "<=": left_key <= right_key,
            "<": left_key < right_key,
            ">": left_key > right_key,
        }[operator]
    return result


def expand(value: str, env: dict[str, str], package_path: Path) -> str:
    names = {**env, "HOUDINI_PACKAGE_PATH": str(package_path)}
    return re.sub(r"\$(\w+)", lambda m: names.get(m.group(1), m.group(0)), value)


def apply_package(
    package_file: Path, facts: dict[str, str], env: dict[str, str]
) -> dict[str, str] | None:
    """The environment after Houdini loads `package_file`, or None if it is disabled."""
    document = json.loads(package_file.read_text(encoding="utf-8"))
    enable = document.get("enable", True)
    if isinstance(enable, str) and not holds(enable, facts):
        return None
    env = dict(env)
    for entry in document.get("env", []):
        name, value, method = entry["var"], entry["value"], entry.get("method", "replace")
        items = value if isinstance(value, list) else [value]
        parts = []
        for item in items:
            if isinstance(item, dict):
                parts += [v for condition, v in item.items() if holds(condition, facts)]
            else:
                parts.append(item)
        text = os.pathsep.join(expand(p, env, package_file.parent) for p in parts)
        if method == "append" and env.get(name):
            text = env[name] + os.pathsep + text
        elif method == "prepend" and env.get(name):
            text = text + os.pathsep + env[name]
        env[name] = text
    path = expand(document["path"], env, package_file.parent)
    env["HOUDINI_PATH"] = os.pathsep.join(filter(None, [path, env.get("HOUDINI_PATH", "")]))
    return env


FACTS = {"houdini_version": "21.0", "houdini_python": f"python{PYTHON}", "houdini_os": SYSTEM}

# Started the way Houdini starts its Python: each HOUDINI_PATH entry's pythonX.Ylibs on
# sys.path, then pm entered through pm_houdini. Prints where every name came from.
CHILD = """
import importlib, json, os, sys
for entry in os.environ.get("HOUDINI_PATH", "").split(os.pathsep):
    libs = os.path.join(entry, "python%d.%dlibs" % sys.version_info[:2])
    if entry and os.path.isdir(libs):
        sys.path.append(libs)
import pm_houdini
found = {}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
    except ImportError:
        found[name] = None
    else:
        found[name] = getattr(module, "ORIGIN", module.__file__)
print(json.dumps(found))
"""


def make_copy(folder: Path, name: str, origin: str) -> None:
    package = folder / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"ORIGIN = {origin!r}\n", encoding="utf-8")


@pytest.fixture(scope="module")
def houdini_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for `$HFS/python`: its own interpreter and site-packages holding
    Houdini's copies of the packages Houdini ships."""
    home = tmp_path_factory.mktemp("hfs") / "python"
    venv.create(home, with_pip=False, symlinks=sys.platform != "win32")
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    python = home / bindir / ("python.exe" if sys.platform == "win32" else "python")
    asked = [str(python), "-c", "import site; print(site.getsitepackages()[0])"]
    site_packages = Path(subprocess.run(asked, capture_output=True, text=True).stdout.strip())
    for name in HOUDINI_SHIPS:
        make_copy(site_packages, name, "houdini")
    return python


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A pm package root: pm's folders, the package file as committed, and a vendor folder
    for this Python and system with pm's copies of everything it vendors."""
    root = tmp_path / "pm"
    root.mkdir()
    for name in ("python3.10libs", "python3.11libs", "pm_db", "migrations", "tests", "bench"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    (root / houdini_commands.PACKAGE_FILE).write_bytes(
        (REPO / houdini_commands.PACKAGE_FILE).read_bytes()
    )
    vendor = root / "vendor" / houdini_commands.vendor_folder_name(PYTHON, SYSTEM)
    for name in (*HOUDINI_SHIPS, *ONLY_PM_VENDORS):
        make_copy(vendor, name, "pm-vendor")
    return root


def run_in_houdini(python: Path, env: dict[str, str]) -> dict[str, str | None]:
    names = [*HOUDINI_SHIPS, *ONLY_PM_VENDORS, "pm_db", "tests", "bench"]
    done = subprocess.run(
        [str(python), "-c", CHILD, *names],
        cwd=env["HOME"],  # an artist's folder: `-c` puts the working folder on sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, str | None] = json.loads(done.stdout)
    return found


def base_env(tmp_path: Path) -> dict[str, str]:
    """What a studio's shell gives Houdini: no PYTHONPATH of pm's."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PM_HOME": str(tmp_path)}


def assert_houdini_wins(found: dict[str, str | None], root: Path) -> None:
    for name in HOUDINI_SHIPS:
        assert found[name] == "houdini", f"{name} resolved to {found[name]}, not Houdini's copy"
    for name in ONLY_PM_VENDORS:
        assert found[name] == "pm-vendor", name
    assert found["pm_db"] == str(root / "pm_db" / "__init__.py")
    assert found["tests"] is None and found["bench"] is None


def test_houdinis_packages_win_with_the_package_file_as_shipped(
    houdini_python: Path, package: Path, tmp_path: Path
) -> None:
    env = apply_package(package / houdini_commands.PACKAGE_FILE, FACTS, base_env(tmp_path))
    assert env is not None
    assert str(package / "vendor") not in env["PYTHONPATH"]
    assert_houdini_wins(run_in_houdini(houdini_python, env), package)


def test_houdinis_packages_win_after_pm_houdini_install(
    houdini_python: Path,
    package: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(houdini_commands, "package_root", lambda: package)
    prefs = tmp_path / "houdini21.0" / "packages"
    assert main(["houdini", "install", "--dest", str(prefs), "--json"]) == 0
    capsys.readouterr()
    [installed] = prefs.iterdir()
    assert installed.name == (REPO / houdini_commands.PACKAGE_FILE).name
    env = apply_package(installed, FACTS, base_env(tmp_path))
    assert env is not None and env["PM_ROOT"] == package.as_posix()
    assert_houdini_wins(run_in_houdini(houdini_python, env), package)


def test_the_same_checks_see_a_vendor_folder_on_pythonpath_shadow_houdini(
    houdini_python: Path, package: Path, tmp_path: Path
) -> None:
    # What pm's package file did before: the vendor folder appended to PYTHONPATH.
    env = apply_package(package / houdini_commands.PACKAGE_FILE, FACTS, base_env(tmp_path))
    assert env is not None
    env["PYTHONPATH"] += os.pathsep + env["PM_VENDOR"]
    found = run_in_houdini(houdini_python, env)
    assert {found[name] for name in HOUDINI_SHIPS} == {"pm-vendor"}


@pytest.mark.parametrize(
    ("version", "enabled"),
    [("19.5", False), ("20.0", True), ("20.5", True), ("21.0", True), ("22.0", False)],
)
def test_the_package_loads_only_in_the_houdini_versions_pm_supports(
    version: str, enabled: bool, tmp_path: Path
) -> None:
    facts = {**FACTS, "houdini_version": version}
    env = apply_package(REPO / houdini_commands.PACKAGE_FILE, facts, base_env(tmp_path))
    assert (env is not None) is enabled
