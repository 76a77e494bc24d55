"""Every `pm` example of docs/cli.md's marked blocks and of every command's --help really
works: each block in order on a fresh database (both databases), each printing one JSON
envelope and exiting as its comment says (`# exit N`, else 0)."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest

from pm_db.cli import main
from pm_db.cli.app import _parsers, build_parser
from pm_db.db import Database

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
MARK = "<!-- examples: run in this order by tests/test_cli_docs.py -->"
EXIT = re.compile(r"#\s*exit (\d):")
ASSIGNMENT = re.compile(r"[A-Z_]+=\S*")


def blocks() -> list[list[str]]:
    """The `pm` lines of every marked block of docs/cli.md."""
    found = []
    for block in DOC.read_text(encoding="utf-8").split(MARK)[1:]:
        body = block.split("```sh\n", 1)[1].split("```", 1)[0]
        found.append([line for line in body.splitlines() if ASSIGNMENT.sub("", line).strip()])
    return found


def help_examples() -> list[str]:
    """The example lines (`  pm ...`) at the end of every command's --help."""
    lines = []
    for parser in _parsers(build_parser()):
        for line in (parser.epilog or "").splitlines():
            words = line.strip().split()
            if "pm" in words[:2] and (words[0] == "pm" or ASSIGNMENT.fullmatch(words[0])):
                lines.append(line.strip())
    return lines


def run_line(
    line: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run one documented line (`VAR=value` prefixes set the environment) with --json."""
    words = shlex.split(os.path.expandvars(line), comments=True)
    while ASSIGNMENT.fullmatch(words[0]):
        name, value = words.pop(0).split("=", 1)
        monkeypatch.setenv(name, value)
    assert words[0] == "pm", line
    if ">" in words:  # a redirection: the test reads stdout itself
        words = words[: words.index(">")]
    expected = EXIT.search(line)
    wanted = int(expected[1]) if expected else 0
    code = main([*words[1:], "--json"])
    out, err = capsys.readouterr()
    assert code == wanted, f"{line}: exit {code}, {err}"
    document = json.loads(out) if out.strip().startswith("{") else None
    if words[1] != "completion":
        assert document is not None and document["ok"] is (wanted in (0, 1)), (line, out)
    assert (err == "") == (wanted == 0), f"{line}: {err}"


@pytest.fixture
def sandbox(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder holding the files the examples read, Houdini's prefs inside it."""
    work = tmp_path / "work"
    work.mkdir()
    files = {
        "projects.csv": (
            "code,name,root_linux\nFX3X,Effects show,/show/FX3X\nSH2X,Second show,/show/SH2X\n"
        ),
        "sequences.csv": "project,code\nFX3X,SQ010\nFX3X,SQ020\nSH2X,SQ010\n",
        "shots.csv": "project,sequence,code,frame_end\nFX3X,SQ010,SH010,1180\nSH2X,SQ010,SH010,\n",
        "assets.json": json.dumps([{"project": "SH2X", "code": "Rock", "type": "prop"}]),
        "artists.csv": "login,name,email\nbob,Bob Smith,bob@studio.example\n",
        "tasks.csv": (
            "project,shot,asset,step,artist\nSH2X,SQ010/SH010,,fx,bob\nSH2X,,Rock,model,\n"
        ),
    }
    for name, text in files.items():
        (work / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOUDINI_USER_PREF_DIR", str(tmp_path / "houdini__HVER__"))
    monkeypatch.setenv("PM_DCC_HOUDINI", "/bin/true")
    return work


def test_the_doc_has_marked_examples() -> None:
    commands = {
        " ".join(shlex.split(line, comments=True)[:3]) for block in blocks() for line in block
    }
    assert {"pm db upgrade", "pm task import", "pm part pin", "pm doctor --repair"} <= commands


@pytest.mark.parametrize("index", range(len(blocks())))
def test_marked_examples_run_as_documented(
    index: int,
    sandbox: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = blocks()[index]
    if lines[0] != "pm db upgrade":
        assert main(["db", "upgrade"]) == 0
        capsys.readouterr()
    for line in lines:
        run_line(line, capsys, monkeypatch)


def test_every_help_example_runs(
    sandbox: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = help_examples()
    assert len(examples) >= 10
    # `pm demo` below makes FX3X: the help's imports add a second show beside it.
    for name in ("projects.csv", "sequences.csv", "shots.csv"):
        path = sandbox / name
        kept = [line for line in path.read_text().splitlines() if "FX3X" not in line]
        path.write_text("\n".join(kept) + "\n")
    for line in ["pm demo", *examples]:
        with monkeypatch.context() as scoped:
            run_line(line, capsys, scoped)
