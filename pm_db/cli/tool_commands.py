"""`pm demo` (a small show, saved and published, on the configured database) and
`pm completion bash|zsh` (shell completion generated from the parser by shtab)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pm_db.cli.common import database, leaf

COMPLETION_EPILOG = """examples:
  pm completion bash > ~/.local/share/bash-completion/completions/pm
  pm completion zsh > "${fpath[1]}/_pm"
"""


def register(commands: Any) -> None:
    demo = leaf(
        commands,
        "demo",
        "save, version up and publish two USD parts of a demo show (FX3X) on the database",
    )
    demo.set_defaults(run=_demo)
    completion = leaf(
        commands, "completion", "print a shell completion script for pm", COMPLETION_EPILOG
    )
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.set_defaults(run=_completion)


def _demo(args: argparse.Namespace) -> Any:
    from pm_db import demo

    database(create=True)
    if args.json:
        return demo.run(lambda _line: None)
    demo.run(lambda line: print(line, flush=True))
    return None


def _completion(args: argparse.Namespace) -> None:
    import shtab

    from pm_db.cli.app import build_parser

    sys.stdout.write(shtab.complete(build_parser(), shell=args.shell))
    return None
