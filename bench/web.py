"""The web view at studio size: server time of every page, and first paint in Chromium.

`python -m bench.web [--shots 1000] [--iterations 100] [--tasks 100000] [--heavy 100000]
[--repeat 30] [--no-pg] [--no-browser]` builds a show with bench.browser's loader (10
sequences of `--shots`/10 shots, two USD assets of 5 parts per shot, `--iterations` saves
each publishing every part: 1000 x 2 x 100 x 5 = 1,000,000 publishes, plus one part with
`--heavy` versions), tops the tasks up to `--tasks`, and writes one `publish.completed`
event per publish (the activity log of such a show). Then, on SQLite and PostgreSQL:

- server time: each page requested `--repeat` times in-process (ASGI, no network), the
  median and p95, signed in with a session cookie like a browser;
- first paint: a live `pm serve` (uvicorn) and Debian's Chromium (Playwright), each page
  loaded `--repeat` / 3 times in a fresh tab: First Contentful Paint from navigation start.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.browser import _insert, build_show
from pm_db import migrate
from pm_db.db import Database
from pm_db.models import Artist, Asset, Event, Part, Publish, Scene, Task, utcnow
from pm_db.services import tokens

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def top_up_tasks(db: Database, total: int) -> None:
    """Tasks on the show's props until the show holds `total` (bulk-inserted)."""
    have = db.read(lambda s: s.scalar(select(func.count()).select_from(Task)))
    assets = db.read(lambda s: s.execute(select(Asset.id, Asset.project_id)).all())
    artists = db.read(lambda s: list(s.scalars(select(Artist.id))))
    now = utcnow()
    rows = [
        {
            "project_id": assets[n % len(assets)][1],
            "asset_id": assets[n % len(assets)][0],
            "step": "lookdev",
            "name": f"t{n:06d}",
            "artist_id": artists[n % len(artists)],
            "status": "todo",
            "created_at": now,
        }
        for n in range(max(0, total - int(have or 0)))
    ]
    _insert(db, Task, rows)


def write_events(db: Database) -> None:
    """One `publish.completed` event per publish, in publish order."""
    publishes = db.read(
        lambda s: s.execute(
            select(Publish.id, Publish.created_by, Publish.created_at).order_by(Publish.id)
        ).all()
    )
    rows = [
        {
            "kind": "publish.completed",
            "entity_type": "publish",
            "entity_id": ident,
            "artist_id": artist_id,
            "host": "bench",
            "payload": {},
            "created_at": created_at,
        }
        for ident, artist_id, created_at in publishes
    ]
    _insert(db, Event, rows)


def pages(db: Database) -> dict[str, str]:
    """The pages to time, with ids from the show."""

    def work(s: Any) -> dict[str, str]:
        heavy = s.execute(
            select(Part.id, Part.stream_id, Part.asset_name).where(Part.name == "sim01")
        ).one()
        part = s.execute(
            select(Part.id, Part.stream_id, Part.asset_name).where(Part.name == "debris01").limit(1)
        ).one()
        shot_task = s.execute(
            select(Task.id, Task.shot_id).where(Task.shot_id.is_not(None)).limit(1)
        ).one()
        publish = s.scalar(select(func.max(Publish.id)))
        scene = s.scalar(select(func.max(Scene.id)))
        sequence = s.execute(select(func.min(Task.shot_id))).scalar()
        newest = s.scalar(select(func.max(Event.id)))
        return {
            "home": "/",
            "project": "/browse/project:1",
            "sequence": "/browse/sequence:1",
            "shot": f"/browse/shot:{shot_task.shot_id or sequence}",
            "USD asset": f"/browse/usd:{part.stream_id}:{part.asset_name}",
            "part (100 versions)": f"/browse/part:{part.id}",
            "part (heavy)": f"/browse/part:{heavy.id}",
            "publish": f"/publish/{publish}",
            "scene": f"/scene/{scene}",
            "search by name": "/search?q=sim",
            "search: status failed": "/search?status=failed",
            "search: artist + project": "/search?artist=artist3&project=BIG",
            "search: a date": "/search?until=2000-01-01",
            "activity": "/activity",
            "activity: one artist": "/activity?artist=artist5",
            "activity: poll": f"/activity/newer?after={newest}",
            "artist": "/artist/artist3",
            "task": f"/task/{shot_task.id}",
            "GET /api/events/": "/api/events/?limit=100",
        }

    return db.read(work)


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def server_times(db: Database, urls: dict[str, str], repeat: int) -> dict[str, tuple[float, float]]:
    from fastapi.testclient import TestClient

    from pm_db.api.app import create_app

    secret = tokens.create_token(db, "artist0", label="bench").token
    found: dict[str, tuple[float, float]] = {}
    with TestClient(create_app(db)) as client:
        client.post("/login", data={"token": secret}, follow_redirects=False)
        headers = {"Authorization": f"Bearer {secret}"}
        for name, url in urls.items():
            samples = []
            for _ in range(repeat + 2):
                started = time.perf_counter()
                response = client.get(url, headers=headers, follow_redirects=False)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            found[name] = _stats(samples[2:])
    return found


def first_paints(db: Database, urls: dict[str, str], runs: int) -> dict[str, tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    from tests.test_api_support import live_server

    secret = tokens.create_token(db, "artist0", label="bench-browser").token
    found: dict[str, tuple[float, float]] = {}
    with live_server(db) as base, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/login")
        page.fill("#token", secret)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.close()
        for name, url in urls.items():
            if url.startswith("/api/") or url.startswith("/activity/newer"):
                continue
            samples = []
            for _ in range(runs):
                tab = context.new_page()
                tab.goto(url)
                samples.append(_fcp(tab))
                tab.close()
            found[name] = _stats(samples)
        browser.close()
    return found


def _fcp(tab: Any) -> float:
    value: Callable[[], Any] = lambda: tab.evaluate(  # noqa: E731
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"
    )
    deadline = time.monotonic() + 10
    while (found := value()) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return float(found or "nan")


def run(label: str, url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    migrate.upgrade(db)
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        count = build_show(db, Path(root), args.shots, args.iterations, args.heavy)
        top_up_tasks(db, args.tasks)
        write_events(db)
        tasks = db.read(lambda s: s.scalar(select(func.count()).select_from(Task)))
        print(
            f"{label}: {count} publishes, {tasks} tasks, one event per publish, "
            f"built in {time.perf_counter() - started:.0f} s"
        )
        urls = pages(db)
        times = server_times(db, urls, args.repeat)
        paints = {} if args.no_browser else first_paints(db, urls, max(3, args.repeat // 3))
        print(f"| {label} page | server median | p95 | first paint median | p95 |")
        print("| --- | --- | --- | --- | --- |")
        for name, (median, p95) in times.items():
            paint = paints.get(name)
            shown = f"{paint[0]:.0f} ms | {paint[1]:.0f} ms" if paint else "| "
            print(f"| {name} | {median:.1f} ms | {p95:.1f} ms | {shown} |")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--heavy", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/pm.sqlite", args)
    if not args.no_pg:
        from bench.pg import scratch_database

        with scratch_database(args.pg) as url:
            run("PostgreSQL", url, args)


if __name__ == "__main__":
    main()
