"""The batch command line, without `hou`: `--help` and bad arguments are answered before
Houdini loads (pm_houdini.batch runs it; bin/pm_batch.py asks it first)."""

from __future__ import annotations

import argparse

PROG = "hython -m pm_houdini.batch"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The `publish` and `jobs` commands and their options."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Publish USD parts from saved hip files, headless (the farm's entry point).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    one = commands.add_parser("publish", help="publish one node of one hip file")
    one.add_argument("--hip", required=True, help="a hip file saved with pm")
    one.add_argument("--node", required=True, help="a LOP node or USD ROP, e.g. /stage/rock")
    one.add_argument("--asset", help="asset name (default: the node's asset parameter)")
    one.add_argument("--part", help="part name (default: the node's part parameter)")
    one.add_argument(
        "--frame-range", nargs="+", type=float, metavar="FRAME", help="START END [STEP]"
    )
    one.add_argument("--request-id", help="idempotency key (default: derived from the job)")
    one.add_argument("--json", action="store_true", help="print one JSON document")
    many = commands.add_parser("jobs", help="run a JSON job list with per-job status")
    many.add_argument("jobs", help='a JSON file: {"jobs": [{"hip": ..., "node": ...}, ...]}')
    many.add_argument("--report", help="also write the per-job report to this JSON file")
    many.add_argument("--json", action="store_true", help="print one JSON document")
    return parser
