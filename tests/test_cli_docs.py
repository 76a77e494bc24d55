"""The examples of docs/cli.md that are marked as run by this file really work, in order,
on both databases: each prints one JSON document and exits as its comment says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from pm_db.cli import main
from pm_db.db import Database
from tests.helpers import cli_document

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
MARK = "<!-- examples: run in this order by tests/test_cli_docs.py -->"
EXIT = re.compile(r"#\s*exit (\d)")


def examples() -> list[tuple[list[str], int]]:
    """(argv, expected exit code) of every `pm` line in the marked blocks, in order."""
    found: list[tuple[list[str], int]] = []
    for block in DOC.read_text(encoding="utf-8").split(MARK)[1:]:
        body = block.split("```sh\n", 1)[1].split("```", 1)[0]
        for line in body.splitlines():
            if not line.startswith("pm "):
                continue
            expected = EXIT.search(line)
            found.append(
                (shlex.split(line, comments=True)[1:], int(expected[1]) if expected else 0)
            )
    return found


def test_the_doc_has_marked_examples() -> None:
    commands = {" ".join(argv[:2]) for argv, _code in examples()}
    assert {"db upgrade", "db reset", "project create", "task update", "artist show"} <= commands


def test_marked_examples_run_as_documented(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, expected in examples():
        code = main([*argv, "--json"])
        out, err = capsys.readouterr()
        assert code == expected, f"pm {shlex.join(argv)}: exit {code}, {err}"
        cli_document(out)
        assert (err == "") == (expected == 0), f"pm {shlex.join(argv)}: {err}"
