"""`python -m bench` (`make bench`): every benchmark in turn, or those named.

Each writes its figures to stdout; docs/benchmarks.md records them with the machine.
Some need PostgreSQL on 127.0.0.1:5432 and take minutes (publish bulk-loads 1,000,000
rows, foundation 100,000 tasks and saves); farm starts a PostgreSQL cluster of its own
with the server binaries under /usr/lib/postgresql, as the postgres user (run it as root);
reference installs the issue's reference (Stalker) into a virtualenv of its own,
`.venv-reference`, the first time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = [
    "startup",
    "shelf_save",
    "publish",
    "history",
    "contention",
    "layers",
    "api",
    "browser",
    "foundation",
    "farm",
    "cli_import",
    "reference",
]


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent
    failed = 0
    for name in names or BENCHMARKS:
        print(f"== bench.{name}", flush=True)
        done = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=root, check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
