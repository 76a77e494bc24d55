"""Starting a DCC for a task with the pipeline context in its environment (the launcher and
`pm launch`).

The started process inherits this process's environment plus `PM_PROJECT`, `PM_TASK_ID`,
`PM_ARTIST`, `PM_HOME` and `HOUDINI_PACKAGE_DIR`; the database or REST settings travel as
the variables that set them here (`PM_DB_URL`, `PM_DB_PASSWORD_FILE`, `PM_API_URL`, ...),
so a secret kept in a file stays in its file.

Executables are configured per platform, first match wins:

1. `PM_DCC_<NAME>` (e.g. `PM_DCC_HOUDINI`): this machine's executable;
2. the launch config file, `$PM_LAUNCH_CONFIG`, else `$PM_HOME/launch.json`:
   `{"houdini": {"linux": "/opt/hfs21.0/bin/houdini", "windows": "C:/...", "mac": "...",
   "args": []}}`;
3. for Houdini only: `$HFS/bin/houdini`, then `houdini` on PATH.

Every failure is a pm error naming what to fix (the variable, the config entry or the
task), raised before anything starts; a launch that started is recorded as a
`dcc.launched` event on the task.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pm_db.config import PLATFORMS, current_platform, load_settings
from pm_db.errors import ConfigError, ValidationError
from pm_db.names import check_login, check_lower_name

if TYPE_CHECKING:
    from pm_db.backend import Backend
    from pm_db.views import TaskRow

PACKAGE_FILE = "pm.json"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
CONTEXT_VARIABLES = ("PM_PROJECT", "PM_TASK_ID", "PM_ARTIST", "PM_HOME", "HOUDINI_PACKAGE_DIR")
_EXECUTABLE_NAMES = {"windows": "houdini.exe"}


@dataclass(frozen=True)
class Executable:
    """A resolved DCC program: its path, extra arguments and where the setting came from."""

    path: str
    args: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class LaunchPlan:
    """Everything a launch needs, checked: what runs, for whom, with which environment."""

    dcc: str
    executable: Executable
    task: TaskRow
    artist: str
    env: dict[str, str]
    notes: tuple[str, ...] = ()

    @property
    def context(self) -> dict[str, str]:
        """The variables pm sets for the launched process."""
        return {name: self.env[name] for name in CONTEXT_VARIABLES if name in self.env}

    @property
    def command(self) -> list[str]:
        return [self.executable.path, *self.executable.args]


@dataclass(frozen=True)
class LaunchResult:
    """A started launch: the process id and the recorded event."""

    dcc: str
    pid: int
    command: list[str]
    task_id: int
    artist: str
    event_id: int
    context: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


# Configuration ------------------------------------------------------------------------


def config_path(env: Mapping[str, str]) -> Path:
    """The launch config file: $PM_LAUNCH_CONFIG, else $PM_HOME/launch.json."""
    if env.get("PM_LAUNCH_CONFIG"):
        return Path(env["PM_LAUNCH_CONFIG"]).expanduser()
    return load_settings(env).home / "launch.json"


def load_config(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The launch config file's DCC entries ({} when there is no file); raises ConfigError
    naming the file and the entry for anything malformed."""
    path = config_path(env)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if env.get("PM_LAUNCH_CONFIG"):
            raise ConfigError(f"{path} does not exist", field="PM_LAUNCH_CONFIG") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}", field=str(path)) from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"is not valid JSON: {exc}", field=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError("must be a JSON object of DCC name to settings", field=str(path))
    for name, entry in data.items():
        _check_entry(path, name, entry)
    return {str(name).lower(): entry for name, entry in data.items()}


def _check_entry(path: Path, name: object, entry: object) -> None:
    where = f"{path}: {name}"
    try:
        check_lower_name(name, where)
    except ValidationError as exc:
        raise ConfigError(exc.message, field=where) from None
    if not isinstance(entry, dict):
        raise ConfigError("must be an object with linux/windows/mac paths", field=where)
    for key, value in entry.items():
        if key in PLATFORMS:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError("must be the path of an executable", field=f"{where}.{key}")
        elif key == "args":
            if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
                raise ConfigError("must be a list of strings", field=f"{where}.args")
        else:
            raise ConfigError(
                f"unknown key {key!r} (known: {', '.join(PLATFORMS)}, args)", field=where
            )


def available_dccs(env: Mapping[str, str]) -> list[str]:
    """The DCC names a launch can ask for: houdini and whatever the config file names."""
    return sorted({"houdini", *load_config(env)})


def _env_name(dcc: str) -> str:
    return f"PM_DCC_{dcc.upper().replace('-', '_')}"


def find_executable(dcc: str, env: Mapping[str, str], platform: str | None = None) -> Executable:
    """The executable of `dcc` on `platform` (default: this machine's). Raises ConfigError
    naming the setting to fix when none is configured, or the configured one is missing."""
    platform = platform or current_platform()
    variable = _env_name(dcc)
    entry = load_config(env).get(dcc, {})
    args = tuple(entry.get("args", ()))
    if env.get(variable):
        return _checked(env[variable], args, variable)
    if entry.get(platform):
        return _checked(entry[platform], args, f"{config_path(env)}: {dcc}.{platform}")
    if dcc == "houdini":
        name = _EXECUTABLE_NAMES.get(platform, "houdini")
        if env.get("HFS"):
            candidate = Path(env["HFS"]) / "bin" / name
            if candidate.is_file():
                return _checked(str(candidate), args, "HFS")
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return _checked(found, args, "PATH")
    raise ConfigError(
        f"no {dcc} executable configured for {platform}: set {variable}, or "
        f'"{dcc}": {{"{platform}": "/path/to/{dcc}"}} in {config_path(env)}',
        field=variable,
    )


def _checked(path: str, args: tuple[str, ...], source: str) -> Executable:
    program = Path(path).expanduser()
    if not program.exists():
        raise ConfigError(f"{program} does not exist", field=source)
    if not program.is_file() or (sys.platform != "win32" and not os.access(program, os.X_OK)):
        raise ConfigError(f"{program} is not an executable file", field=source)
    return Executable(str(program), args, source)


def package_dir(env: Mapping[str, str]) -> str:
    """The folder holding pm's Houdini package file: $PM_HOUDINI_PACKAGE_DIR, else the
    package root this pm runs from. Raises ConfigError if it holds no package file."""
    configured = env.get("PM_HOUDINI_PACKAGE_DIR")
    if configured:
        folder = Path(configured).expanduser()
        if not folder.is_dir() or not any(folder.glob("*.json")):
            raise ConfigError(
                f"{folder} is not a folder holding a Houdini package (.json) file",
                field="PM_HOUDINI_PACKAGE_DIR",
            )
        return str(folder)
    folder = PACKAGE_ROOT
    if not (folder / PACKAGE_FILE).is_file():
        raise ConfigError(
            f"pm runs from {folder}, which holds no {PACKAGE_FILE}; set "
            "PM_HOUDINI_PACKAGE_DIR to the folder that holds pm's Houdini package",
            field="PM_HOUDINI_PACKAGE_DIR",
        )
    return str(folder)


# Launching ----------------------------------------------------------------------------


def launch_environment(
    task: TaskRow, artist: str, env: Mapping[str, str]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The environment of a DCC started for `task` by `artist`, and notes on anything it
    replaced. Raises ConfigError (no package folder, bad settings)."""
    settings = load_settings(env)
    child = dict(env)
    notes: list[str] = []
    folder = package_dir(env)
    previous = env.get("HOUDINI_PACKAGE_DIR")
    if previous and Path(previous) != Path(folder):
        notes.append(f"HOUDINI_PACKAGE_DIR was {previous}; pm's package folder replaces it")
    child.update(
        PM_PROJECT=task.project,
        PM_TASK_ID=str(task.id),
        PM_ARTIST=artist,
        PM_HOME=str(settings.home),
        HOUDINI_PACKAGE_DIR=folder,
    )
    return child, tuple(notes)


def plan_launch(
    backend: Backend,
    dcc: str,
    task_id: int,
    artist: str | None = None,
    env: Mapping[str, str] | None = None,
) -> LaunchPlan:
    """Check a launch of `dcc` for task `task_id` by `artist` (default: $PM_ARTIST, else the
    task's artist) and build its environment; starts nothing. Raises ValidationError,
    NotFound (task or artist), ConfigError (executable, package folder)."""
    env = dict(os.environ if env is None else env)
    dcc = check_lower_name(dcc, "dcc")
    task = backend.task_row(task_id)
    if task.target is None:
        raise ValidationError(
            f"task {task.id} ({task.name}) is on no shot or asset; fix the task first",
            field="task_id",
        )
    login = artist or env.get("PM_ARTIST") or task.artist
    if not login:
        raise ValidationError(
            f"task {task.id} has no artist; say who launches (--artist)", field="artist"
        )
    login = check_login(login, "artist")
    person = backend.find("artist", login)
    if not person.active:
        raise ValidationError(f"artist {login!r} is inactive", field="artist")
    executable = find_executable(dcc, env)
    child, notes = launch_environment(task, login, env)
    return LaunchPlan(dcc, executable, task, login, child, notes)


Popen = Callable[..., "subprocess.Popen[bytes]"]


def start(backend: Backend, plan: LaunchPlan, popen: Popen = subprocess.Popen) -> LaunchResult:
    """Start the planned process, detached from this one, and record the launch. Raises
    ConfigError if the executable cannot be started."""
    options: dict[str, Any] = {"env": plan.env, "stdin": subprocess.DEVNULL}
    if sys.platform == "win32":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        # Closing the launcher (or its terminal) must not take Houdini down with it.
        options["start_new_session"] = True
    try:
        process = popen(plan.command, **options)
    except OSError as exc:
        raise ConfigError(
            f"cannot start {plan.executable.path}: {exc.strerror or exc}",
            field=plan.executable.source,
        ) from exc
    event = backend.record_launch(
        {
            "task_id": plan.task.id,
            "artist": plan.artist,
            "dcc": plan.dcc,
            "executable": plan.executable.path,
            "pid": process.pid,
        }
    )
    return LaunchResult(
        dcc=plan.dcc,
        pid=process.pid,
        command=plan.command,
        task_id=plan.task.id,
        artist=plan.artist,
        event_id=event.id,
        context=plan.context,
        notes=plan.notes,
    )


def launch(
    backend: Backend,
    dcc: str,
    task_id: int,
    artist: str | None = None,
    env: Mapping[str, str] | None = None,
) -> LaunchResult:
    """Plan, then start, a launch (see plan_launch and start)."""
    return start(backend, plan_launch(backend, dcc, task_id, artist, env))
