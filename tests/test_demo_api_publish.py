"""`tools/demo_api_publish.py` run as a user runs it, on SQLite and PostgreSQL: a separate
process with the project_manager demo's environment variables (API_BASE_URL, DEMO_TASK_ID,
DEMO_TARGET_ID) plus PM_API_TOKEN, against a real server; twice, the numbers going on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import Studio
from tests.test_api_support import live_server, token_for

DEMO = Path(__file__).resolve().parents[1] / "tools" / "demo_api_publish.py"


def run_demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_demo_publishes_with_the_original_variables_and_a_token(studio: Studio) -> None:
    token = token_for(studio.db, studio.artist)
    with live_server(studio.db) as url:
        env = {
            **os.environ,
            "API_BASE_URL": url,
            "DEMO_TASK_ID": str(studio.shot_task_id),
            "DEMO_TARGET_ID": str(studio.shot_id),
            "PM_API_TOKEN": token,
        }
        first = run_demo(env)
        assert first.returncode == 0, first.stderr
        second = run_demo(env)
        assert second.returncode == 0, second.stderr
        without_token = run_demo({k: v for k, v in env.items() if k != "PM_API_TOKEN"})
    answers = [json.loads(done.stdout.split("\n", 1)[1]) for done in (first, second)]
    published = [answer["data"] for answer in answers]
    assert [(p["version"], p["iteration"]) for p in published] == [(1, 1), (1, 2)]
    assert all(p["publish_id"] == p["id"] and p["is_latest"] for p in published)
    assert Path(published[1]["part_usd_path"]).is_file()
    assert without_token.returncode == 2 and "PM_API_TOKEN" in without_token.stderr
