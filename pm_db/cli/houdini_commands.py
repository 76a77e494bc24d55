"""`pm houdini vendor|install|package`: put pm into Houdini.

- `vendor` installs binary wheels of pm's dependencies for Houdini's Python (3.10 for
  Houdini 20.0, 3.11 for 20.5 and 21) and operating system into the package's
  `vendor/py3.X-OS` folder, with pip's `--target --python-version --platform
  --only-binary=:all:`. It builds beside the folder and swaps it in, so a failed
  download never leaves half a folder behind.
- `install` writes a package file (`pm.json`) pointing at this checkout into the user's
  Houdini packages folder.
- `package` prints the package file (the one at the repository root, or the installed
  form), or checks that the committed one is current.

docs/houdini.md explains each choice (append, not prepend; SQLAlchemy 2.0 on 3.10;
the PostgreSQL drivers' own OpenSSL).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pm_db.cli.common import group, leaf
from pm_db.errors import ConfigError, PmError, ValidationError

PYTHONS = ("3.10", "3.11")
SYSTEMS = ("linux", "windows", "macos")
"""Houdini's own names (`houdini_os`), which the vendor folders and the package file use."""
PLATFORM_SYSTEMS = {"linux": "linux", "windows": "windows", "mac": "macos", "macos": "macos"}
"""--platform takes pm's names (linux, windows, mac: as PM_PLATFORM); macos is an alias."""
HOUDINI_VERSIONS = ("20.0", "20.5", "21.0")
PACKAGE_FILE = "houdini_package.json"
INSTALLED_NAME = "pm.json"
SECRET_VARIABLES = ("PM_DB_PASSWORD", "PM_API_TOKEN")

# Wheel platform tags pip may take, per system and machine. On Linux: manylinux wheels
# for glibc 2.28 (RHEL 8) or older, so they load on any studio Linux of that age or newer.
PLATFORM_TAGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("linux", "x86_64"): ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    ("linux", "aarch64"): (
        "manylinux_2_28_aarch64",
        "manylinux_2_17_aarch64",
        "manylinux2014_aarch64",
    ),
    ("windows", "x86_64"): ("win_amd64",),
    ("macos", "arm64"): ("macosx_11_0_arm64",),
    ("macos", "x86_64"): ("macosx_10_15_x86_64",),
}
DEFAULT_ARCH = {"linux": "x86_64", "windows": "x86_64", "macos": "arm64"}

# pip picks wheels by the target's tags but evaluates environment markers against the
# Python running pip, so marker-gated dependencies of the target are named here.
EXTRA_REQUIREMENTS = {
    # SQLAlchemy 2.1 needs Python 3.11; alembic needs tomli below 3.11.
    "3.10": ("sqlalchemy>=2.0.30,<2.1", "tomli"),
    "3.11": (),
}


def register(commands: Any) -> None:
    houdini = group(commands, "houdini", "put pm into Houdini: vendored dependencies, package file")
    vendor = leaf(houdini, "vendor", "install pm's dependencies for Houdini's Python into vendor/")
    vendor.add_argument("--python", required=True, choices=PYTHONS, help="Houdini's Python")
    vendor.add_argument(
        "--platform",
        required=True,
        type=_system,
        metavar="{linux,windows,mac}",
        help="Houdini's system (macos is read as mac)",
    )
    vendor.add_argument("--arch", help="machine: x86_64 (default), aarch64, arm64 (macOS default)")
    vendor.add_argument("--dest", help="target folder (default: vendor/py3.X-OS in the package)")
    vendor.add_argument("--dry-run", action="store_true", help="print the pip command only")
    vendor.set_defaults(run=_vendor)
    install = leaf(
        houdini, "install", "write a package file for this checkout into Houdini's prefs"
    )
    install.add_argument(
        "--houdini-version",
        action="append",
        choices=HOUDINI_VERSIONS,
        help="Houdini version(s) to install for (default: every one with a prefs folder)",
    )
    install.add_argument("--dest", help="a packages folder to write to instead")
    install.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PM_NAME=VALUE",
        help="also set a PM_* variable in the package (never secrets: use *_FILE variables)",
    )
    install.set_defaults(run=_install)
    package = leaf(houdini, "package", "print the package file, or --check the committed one")
    package.add_argument("--installed", action="store_true", help="the form install writes")
    package.add_argument(
        "--check", action="store_true", help="fail if houdini_package.json is stale"
    )
    package.set_defaults(run=_package)


def _system(value: str) -> str:
    """An argparse type: pm's platform name as Houdini's `houdini_os` name."""
    system = PLATFORM_SYSTEMS.get(value.strip().lower())
    if system is None:
        raise argparse.ArgumentTypeError(f"must be linux, windows or mac, got {value!r}")
    return system


# The package file ------------------------------------------------------------------------


def package_root() -> Path:
    """The Houdini package root: the checkout this pm_db runs from. Raises ConfigError."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "python3.10libs" / "pm_houdini").is_dir():
        raise ConfigError(
            f"{root} is not a pm checkout (no python3.10libs/pm_houdini): Houdini needs the "
            "package folder, not a wheel install",
            field="PM_ROOT",
        )
    return root


def vendor_folder_name(python: str, system: str) -> str:
    """`py3.10-linux`: one folder per Houdini Python and operating system."""
    return f"py{python}-{system}"


def package_document(root: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The package file for a package root (`$HOUDINI_PACKAGE_PATH` for the file in the
    repository, an absolute path for an installed one)."""
    vendor_branches = [
        {
            f"houdini_python == 'python{python}' and houdini_os == '{system}'": (
                f"$PM_ROOT/vendor/{vendor_folder_name(python, system)}"
            )
        }
        for python in PYTHONS
        for system in SYSTEMS
    ]
    env: list[dict[str, Any]] = [
        {"var": "PM_ROOT", "value": root},
        {"var": "PM_VENDOR", "value": vendor_branches},
        {
            "var": "PYTHONPATH",
            "value": ["$PM_ROOT/python3.10libs", "$PM_ROOT", "$PM_VENDOR"],
            "method": "append",
        },
    ]
    env.extend({"var": name, "value": value} for name, value in sorted((extra_env or {}).items()))
    return {
        "enable": "houdini_version >= '20.0'",
        "load_package_once": True,
        "path": root,
        "env": env,
    }


def package_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def _package(args: argparse.Namespace) -> Any:
    root = package_root()
    if args.installed:
        return package_document(root.as_posix())
    expected = package_text(package_document("$HOUDINI_PACKAGE_PATH"))
    if args.check:
        current = (root / PACKAGE_FILE).read_text(encoding="utf-8")
        if current != expected:
            raise ValidationError(
                "is not the file `pm houdini package` prints; regenerate it with "
                f"`pm houdini package > {PACKAGE_FILE}`",
                field=PACKAGE_FILE,
            )
        return {"file": str(root / PACKAGE_FILE), "current": True}
    return json.loads(expected)


# install -----------------------------------------------------------------------------------


def prefs_folder(version: str, system: str, home: Path) -> Path:
    """Houdini's user preferences folder for `version` on `system`."""
    env = os.environ.get("HOUDINI_USER_PREF_DIR")
    if env:
        return Path(env.replace("__HVER__", version)).expanduser()
    if system == "windows":
        return home / "Documents" / f"houdini{version}"
    if system == "mac":
        return home / "Library" / "Preferences" / "houdini" / version
    return home / f"houdini{version}"


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """`PM_NAME=VALUE` pairs for the package file; raises ValidationError naming --set."""
    settings: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.startswith("PM_") or not name[3:].replace("_", "").isalnum():
            raise ValidationError(f"expected PM_NAME=VALUE, got {pair!r}", field="--set")
        if name in SECRET_VARIABLES or (name == "PM_DB_URL" and _has_password(value)):
            raise ValidationError(
                f"{name} is a secret and a package file is readable by everyone; set "
                f"{name}_FILE to a protected file instead",
                field="--set",
            )
        if name in ("PM_ROOT", "PM_VENDOR"):
            raise ValidationError(f"{name} is set by the package itself", field="--set")
        settings[name] = value
    return settings


def _has_password(url: str) -> bool:
    from pm_db.config import mask_url

    return mask_url(url) != url


def install_targets(versions: list[str] | None, dest: str | None) -> list[Path]:
    """The packages folders to write to; raises ValidationError when none is found."""
    if dest:
        return [Path(dest).expanduser()]
    from pm_db.config import current_platform

    system, home = current_platform(), Path.home()
    if versions:
        return [prefs_folder(v, system, home) / "packages" for v in versions]
    found = [
        prefs_folder(v, system, home) / "packages"
        for v in HOUDINI_VERSIONS
        if prefs_folder(v, system, home).is_dir()
    ]
    if not found:
        raise ValidationError(
            f"no Houdini preferences folder found ({prefs_folder('21.0', system, home)}, ...); "
            "name the version(s) with --houdini-version, or the folder with --dest",
            field="--houdini-version",
        )
    return found


def _install(args: argparse.Namespace) -> Any:
    root = package_root()
    settings = parse_settings(args.set)
    text = package_text(package_document(root.as_posix(), settings))
    written = []
    for folder in install_targets(args.houdini_version, args.dest):
        target = folder / INSTALLED_NAME
        previous = _previous_root(target)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{INSTALLED_NAME}.{os.getpid()}.tmp"
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, target)
        except OSError as exc:
            raise PmError(f"cannot write {target}: {exc.strerror}", field="--dest") from exc
        written.append({"file": str(target), "pm_root": str(root), "replaced_pm_root": previous})
    return {
        "installed": written,
        "check": "start Houdini, then in its Python shell: import pm_houdini",
    }


def _previous_root(target: Path) -> str | None:
    try:
        document = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for entry in document.get("env", []):
        if isinstance(entry, dict) and entry.get("var") == "PM_ROOT":
            return str(entry.get("value"))
    return None


# vendor -------------------------------------------------------------------------------------


def pm_requirements(python: str) -> list[str]:
    """pm's run-time requirements (no extras) for Houdini's Python `python`."""
    from importlib import metadata

    try:
        requires = metadata.requires("pm-pipeline") or []
    except metadata.PackageNotFoundError as exc:
        raise ConfigError(
            "pm-pipeline is not installed here; run `pip install -e .` first", "pm"
        ) from exc
    base = [r for r in requires if "extra ==" not in r.replace("'", '"')]
    pinned = {_name(r) for r in EXTRA_REQUIREMENTS[python]}
    return [r for r in base if _name(r) not in pinned] + list(EXTRA_REQUIREMENTS[python])


def _name(requirement: str) -> str:
    for stop in "<>=!~;[ ":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower().replace("_", "-")


def platform_tags(system: str, arch: str | None) -> tuple[str, ...]:
    """The wheel platform tags for a system and machine; raises ValidationError (--arch)."""
    machine = arch or DEFAULT_ARCH[system]
    tags = PLATFORM_TAGS.get((system, machine))
    if tags is None:
        known = sorted(m for s, m in PLATFORM_TAGS if s == system)
        raise ValidationError(f"must be one of {', '.join(known)} for {system}", "--arch")
    return tags


def vendor_command(
    python: str, system: str, arch: str | None, target: Path, requirements: list[str]
) -> list[str]:
    """The pip command that installs `requirements` for Houdini's Python into `target`."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
    ]
    for tag in platform_tags(system, arch):
        command += ["--platform", tag]
    return command + requirements


def _vendor(args: argparse.Namespace) -> Any:
    dest = Path(args.dest) if args.dest else package_root() / "vendor"
    if not args.dest:
        dest = dest / vendor_folder_name(args.python, args.platform)
    requirements = pm_requirements(args.python)
    partial = dest.with_name(f".{dest.name}.partial")
    command = vendor_command(args.python, args.platform, args.arch, partial, requirements)
    if args.dry_run:
        return {"command": command, "dest": str(dest)}
    from pm_db.cli.progress import Progress

    with Progress("vendoring (packages collected)", quiet=args.json) as progress:
        return vendor(command, partial, dest, args.python, args.platform, progress)


def _run_pip(command: list[str], progress: Callable[[int, int], None]) -> tuple[int, str]:
    """Run pip, telling `progress` of each package it collects (total unknown: 0);
    returns its exit code and its stderr."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True) as process:
            assert process.stdout is not None
            collected = 0
            for line in process.stdout:
                if line.startswith("Collecting "):
                    collected += 1
                    progress(collected, 0)
        errors.seek(0)
        return process.returncode, errors.read()


def vendor(
    command: list[str],
    partial: Path,
    dest: Path,
    python: str,
    system: str,
    progress: Callable[[int, int], None] = lambda _done, _total: None,
) -> Any:
    """Run pip into `partial`, then swap it in as `dest`. Raises PmError (pip failed)."""
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    code, stderr = _run_pip(command, progress)
    if code != 0:
        shutil.rmtree(partial, ignore_errors=True)
        tail = " | ".join(line for line in stderr.strip().splitlines()[-3:])
        raise PmError(f"pip failed (exit {code}): {tail}", field="vendor")
    packages = installed_packages(partial)
    manifest = {"python": python, "platform": system, "packages": packages}
    (partial / "pm-vendor.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(partial, dest)
    shutil.rmtree(old, ignore_errors=True)
    return {"dest": str(dest), **manifest}


def installed_packages(folder: Path) -> dict[str, str]:
    """name -> version of the distributions pip installed into `folder`."""
    found = {}
    for info in sorted(folder.glob("*.dist-info")):
        name, _, version = info.name[: -len(".dist-info")].partition("-")
        found[name.lower().replace("_", "-")] = version
    return found
