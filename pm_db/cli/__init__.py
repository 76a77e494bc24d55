"""The `pm` command line (docs/cli.md). This module stays light: Ctrl-C while the
command modules load still ends with one line and exit 130."""

from __future__ import annotations

import sys
from collections.abc import Sequence

INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `pm` command; returns the exit code."""
    try:
        from pm_db.cli.app import run

        return run(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:
        print("pm: interrupted", file=sys.stderr)
        return INTERRUPTED
