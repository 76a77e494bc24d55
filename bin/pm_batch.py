"""The farm's launcher: `hython $PM_ROOT/bin/pm_batch.py publish|jobs ...`, the same as
`hython -m pm_houdini.batch ...`, for schedulers and Houdini builds that run a script.

Python puts a script's own folder first on `sys.path`; this folder holds nothing else,
so nothing it holds can shadow a module of Houdini's. `--help` and bad arguments are
answered before Houdini's `hou` is imported, so they work with any Python.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBS = os.path.join(ROOT, "python3.10libs")
PROG = "hython pm_batch.py"


def main(argv: list[str]) -> int:
    """Check the arguments without Houdini, then run the batch in it."""
    os.environ.setdefault("PM_ROOT", ROOT)
    if LIBS not in sys.path:
        sys.path.append(LIBS)  # after Houdini's own folders; the package file may have it
    from pm_houdini.batch_args import build_parser

    build_parser(PROG).parse_args(argv)  # --help and bad arguments exit here
    from pm_houdini.batch import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
