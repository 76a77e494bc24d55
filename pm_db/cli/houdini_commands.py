"""`pm houdini lock|vendor|install|package`: put pm into Houdini.

- `lock` resolves pm's run-time dependencies for one Houdini Python (3.10 for Houdini
  20.0, 3.11 for 20.5 and 21) and operating system with `uv pip compile
  --generate-hashes --python-version --python-platform` into `locks/py3.X-OS.txt`:
  exact versions and hashes, environment markers evaluated for the target (so Windows
  gets what only Windows needs, even when locked on Linux).
- `vendor` installs exactly a lock's wheels into the package's `vendor/py3.X-OS` folder
  with pip's `--require-hashes --no-deps --target --python-version --platform
  --only-binary=:all:`. It builds beside the folder and swaps it in, so a failed
  download never leaves half a folder behind.
- `install` writes the package file (`pm.json`, the same name as the one in the
  repository, so `load_package_once` keeps the two from both loading) pointing at this
  checkout into the user's Houdini packages folder.
- `package` prints the package file (the one at the repository root, or the installed
  form), or checks that the committed one is current.

The package file puts only `python3.10libs` (pm_houdini) on PYTHONPATH: every PYTHONPATH
entry comes before Houdini's site-packages, so the vendor folder and the repository root
never go there. pm_houdini appends them itself (pm_houdini.vendor). docs/houdini.md
explains each choice.
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
# The Houdini versions pm loads in: 20.0 to 21.x. A newer one needs a TD's own package
# file (docs/houdini.md).
ENABLE = "houdini_version >= '20.0' and houdini_version < '22.0'"
PACKAGE_FILE = "pm.json"
LOCKS = "locks"
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
# uv's names for the same targets: markers (sys_platform, platform_machine) and wheel
# tags are evaluated for these, not for the machine running uv.
UV_PLATFORMS: dict[tuple[str, str], str] = {
    ("linux", "x86_64"): "x86_64-manylinux_2_28",
    ("linux", "aarch64"): "aarch64-manylinux_2_28",
    ("windows", "x86_64"): "x86_64-pc-windows-msvc",
    ("macos", "arm64"): "aarch64-apple-darwin",
    ("macos", "x86_64"): "x86_64-apple-darwin",
}


def register(commands: Any) -> None:
    houdini = group(commands, "houdini", "put pm into Houdini: vendored dependencies, package file")
    lock = leaf(
        houdini, "lock", "lock pm's dependencies (versions and hashes) for Houdini's Python"
    )
    _target_arguments(lock)
    lock.add_argument("--output", help="lock file (default: locks/py3.X-OS.txt in the package)")
    lock.add_argument("--dry-run", action="store_true", help="print the uv command only")
    lock.set_defaults(run=_lock)
    vendor = leaf(houdini, "vendor", "install a lock's wheels for Houdini's Python into vendor/")
    _target_arguments(vendor)
    vendor.add_argument("--lock", help="lock file (default: locks/py3.X-OS.txt in the package)")
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
    package.add_argument("--check", action="store_true", help=f"fail if {PACKAGE_FILE} is stale")
    package.set_defaults(run=_package)


def _system(value: str) -> str:
    """An argparse type: pm's platform name as Houdini's `houdini_os` name."""
    system = PLATFORM_SYSTEMS.get(value.strip().lower())
    if system is None:
        raise argparse.ArgumentTypeError(f"must be linux, windows or mac, got {value!r}")
    return system


def _target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--python", required=True, choices=PYTHONS, help="Houdini's Python")
    parser.add_argument(
        "--platform",
        required=True,
        type=_system,
        metavar="{linux,windows,mac}",
        help="Houdini's system (macos is read as mac)",
    )
    parser.add_argument("--arch", help="machine: x86_64 (default), aarch64, arm64 (macOS default)")


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
    repository, an absolute path for an installed one).

    PYTHONPATH gets `python3.10libs` only (pm_houdini, whose names Houdini does not
    ship): Python puts PYTHONPATH before site-packages, so anything else there would
    shadow Houdini's own packages. `PM_VENDOR` names the vendor folder for pm_houdini,
    which appends it (and makes `pm_db` importable) after site-packages."""
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
        {"var": "PYTHONPATH", "value": ["$PM_ROOT/python3.10libs"], "method": "append"},
    ]
    env.extend({"var": name, "value": value} for name, value in sorted((extra_env or {}).items()))
    return {"enable": ENABLE, "load_package_once": True, "path": root, "env": env}


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
        target = folder / PACKAGE_FILE
        previous = _previous_root(target)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{PACKAGE_FILE}.{os.getpid()}.tmp"
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


def pm_requirements() -> list[str]:
    """pm's run-time requirements (no extras), as pyproject.toml declares them."""
    from importlib import metadata

    try:
        requires = metadata.requires("pm-pipeline") or []
    except metadata.PackageNotFoundError as exc:
        raise ConfigError(
            "pm-pipeline is not installed here; run `pip install -e .` first", "pm"
        ) from exc
    return [r for r in requires if "extra ==" not in r.replace("'", '"')]


def machine(system: str, arch: str | None) -> str:
    """The machine for a system (`--arch`, else the system's default); raises
    ValidationError naming --arch for one pm has no wheels tags for."""
    chosen = arch or DEFAULT_ARCH[system]
    if (system, chosen) not in PLATFORM_TAGS:
        known = sorted(m for s, m in PLATFORM_TAGS if s == system)
        raise ValidationError(f"must be one of {', '.join(known)} for {system}", "--arch")
    return chosen


def lock_name(python: str, system: str, arch: str | None) -> str:
    """`py3.11-linux.txt`; a machine other than the system's default is named too
    (`py3.11-macos-x86_64.txt`)."""
    chosen = machine(system, arch)
    suffix = "" if chosen == DEFAULT_ARCH[system] else f"-{chosen}"
    return f"{vendor_folder_name(python, system)}{suffix}.txt"


def platform_tags(system: str, arch: str | None) -> tuple[str, ...]:
    """The wheel platform tags for a system and machine; raises ValidationError (--arch)."""
    return PLATFORM_TAGS[(system, machine(system, arch))]


def lock_command(python: str, system: str, arch: str | None, output: Path) -> list[str]:
    """The uv command that locks pm's requirements (read from stdin) for Houdini's Python
    and system into `output`, with every file's hash."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    return [
        uv,
        "pip",
        "compile",
        "-",
        "--generate-hashes",
        "--python-version",
        python,
        "--python-platform",
        UV_PLATFORMS[(system, machine(system, arch))],
        "--only-binary",
        ":all:",
        "--no-header",
        "--quiet",
        "--output-file",
        str(output),
    ]


def _lock(args: argparse.Namespace) -> Any:
    name = lock_name(args.python, args.platform, args.arch)
    output = Path(args.output) if args.output else package_root() / LOCKS / name
    command = lock_command(args.python, args.platform, args.arch, output)
    requirements = pm_requirements()
    if args.dry_run:
        return {"command": command, "requirements": requirements, "lock": str(output)}
    output.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        command, input="\n".join(requirements) + "\n", capture_output=True, text=True
    )
    if done.returncode != 0:
        raise PmError(f"uv failed (exit {done.returncode}): {_tail(done.stderr)}", field="lock")
    return {"lock": str(output), "packages": locked_packages(output)}


def locked_packages(lock: Path) -> dict[str, str]:
    """name -> version pinned by a lock file."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        name, sep, rest = line.partition("==")
        if sep and not line.startswith((" ", "#")):
            pins[name.strip().lower()] = rest.split()[0].rstrip("\\").strip()
    return pins


def vendor_command(
    python: str, system: str, arch: str | None, target: Path, lock: Path
) -> list[str]:
    """The pip command that installs exactly the wheels `lock` names (and hashes) for
    Houdini's Python into `target`."""
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
        "--require-hashes",
        "--no-deps",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
    ]
    for tag in platform_tags(system, arch):
        command += ["--platform", tag]
    return [*command, "--requirement", str(lock)]


def _vendor(args: argparse.Namespace) -> Any:
    root = package_root()
    lock = (
        Path(args.lock)
        if args.lock
        else root / LOCKS / lock_name(args.python, args.platform, args.arch)
    )
    if not lock.is_file():
        raise ValidationError(
            f"{lock} does not exist; make it with `pm houdini lock --python {args.python} "
            f"--platform {args.platform}`",
            field="--lock",
        )
    dest = Path(args.dest) if args.dest else root / "vendor"
    if not args.dest:
        dest = dest / vendor_folder_name(args.python, args.platform)
    partial = dest.with_name(f".{dest.name}.partial")
    command = vendor_command(args.python, args.platform, args.arch, partial, lock)
    if args.dry_run:
        return {"command": command, "dest": str(dest)}
    from pm_db.cli.progress import Progress

    with Progress("vendoring (packages collected)", quiet=args.json) as progress:
        return vendor(command, partial, dest, args.python, args.platform, progress)


def _tail(stderr: str) -> str:
    return " | ".join(line for line in stderr.strip().splitlines()[-3:])


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
        raise PmError(f"pip failed (exit {code}): {_tail(stderr)}", field="vendor")
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
