"""Stand-ins for the farm tests: a `hython` that is this Python with the fake hou first on
its path, a `deadlinecommand` that records what it was asked to submit, and a hip file
saved through pm with nodes to publish and a ROP to render first."""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path
from typing import Any

from tests.fake_hou import support

# isort: split
from pm_houdini import save as pm_save

# Deadline's command line application answers a submission with these lines (the
# submitters read the JobID= line: Deadline's Houdini submitter, docs/farm.md).
DEADLINECOMMAND = """#!{python}
import hashlib, json, os, sys
log = os.environ["FAKE_DEADLINE_LOG"]
calls = []
if os.path.exists(log):
    with open(log, encoding="utf-8") as f:
        calls = [json.loads(line) for line in f]
number = len(calls) + 1
files = {{a: open(a, encoding="utf-8").read() for a in sys.argv[1:] if os.path.isfile(a)}}
with open(log, "a", encoding="utf-8") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "files": files}}) + "\\n")
if str(number) == os.environ.get("FAKE_DEADLINE_FAIL_AT"):
    print("Error: the repository refused the job")
    sys.exit(1)
job_id = hashlib.sha1(str(number).encode()).hexdigest()[:24]
print("Submitting to Repository: /mnt/DeadlineRepository10")
print("Result=Success")
print("JobID=" + job_id)
print("The job was submitted successfully.")
"""

HYTHON = """#!/bin/sh
export PYTHONPATH={pythonpath}
export HOUDINI_PATH='{houdini_path}'
exec {python} "$@"
"""


def stand_in_bin(tmp_path: Path) -> Path:
    """A folder holding the stand-in `hython` and `deadlinecommand`."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    env = support.batch_env()
    hython = folder / "hython"
    hython.write_text(
        HYTHON.format(
            pythonpath=env["PYTHONPATH"], houdini_path=env["HOUDINI_PATH"], python=sys.executable
        )
    )
    deadline = folder / "deadlinecommand"
    deadline.write_text(DEADLINECOMMAND.format(python=sys.executable))
    for path in (hython, deadline):
        path.chmod(0o755)
    return folder


def deadline_calls(log: Path) -> list[dict[str, Any]]:
    """What the stand-in deadlinecommand was asked, in order."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def info_file(text: str) -> dict[str, str]:
    """A Deadline info file read back: `Key=Value` lines (split at the first `=`)."""
    pairs = [line.split("=", 1) for line in text.splitlines() if line.strip()]
    assert all(len(pair) == 2 for pair in pairs), text
    keys = [key for key, _value in pairs]
    assert len(keys) == len(set(keys)), f"a key twice: {keys}"
    return dict((key, value) for key, value in pairs)


def farm_scene(hou: types.ModuleType, parts: tuple[str, ...] = ("particles01",)) -> str:
    """A hip saved through pm: a pm Publish Part node per part, a USD ROP `/out/cache`
    (frames 1-3) to render first, and `/obj/geo1`, which is neither a LOP nor a ROP."""
    stage = hou.node("/stage")
    for part in parts:
        source = stage.createNode("sphere", f"{part}_src")
        node = stage.createNode("pm::publish_part::1.0", part)
        node.setInput(0, source)
        node.parm("asset").set("PinchIn")
    cache = hou.node("/out").createNode("usd", "cache")
    cache.parm("loppath").set(f"/stage/{parts[0]}_src")
    cache.parm("lopoutput").set("$HIP/cache/cache.usd")
    cache.parm("trange").set(1)
    cache.parm("f2").set(3.0)
    hou.node("/obj").createNode("geo", "geo1")
    return pm_save.save_scene(scene_name="PinchIn").path


def farm_env(bin_folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a `pm farm` run: the stand-ins first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{bin_folder}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env
