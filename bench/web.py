"""The web view at studio size: server time of every page, and first paint in Chromium.

`python -m bench.web [--shots 1000] [--iterations 100] [--tasks 100000] [--heavy 100000]
[--repeat 30] [--keep DIR] [--no-pg] [--no-sqlite] [--no-browser]` builds a show on SQLite
with bench.browser's loader (10 sequences of `--shots`/10 shots, two USD assets of 5 parts
per shot, `--iterations` saves each publishing every part: 1000 x 2 x 100 x 5 = 1,000,000
publishes, plus one part with `--heavy` versions), tops the tasks up to `--tasks`, and
writes one `publish.completed` event per publish (the activity log of such a show). The
PostgreSQL show is the same rows, copied table by table with COPY (about two minutes for
1.1 million publishes, where inserts through the driver would take far longer). With
`--keep DIR` both shows are kept (DIR/web.sqlite and the PostgreSQL database
`pm_bench_web`) and later runs with the same DIR reuse them, after bringing their schema
to the newest migration. Then, on SQLite and PostgreSQL:

- server time: each page requested `--repeat` times in-process (ASGI, no network), the
  median and p95, signed in with a session cookie like a browser;
- first paint: a live `pm serve` (uvicorn) and Debian's Chromium (Playwright), each page
  loaded `--repeat` / 3 times in a fresh tab: First Contentful Paint from navigation start.
"""

from __future__ import annotations

import argparse
import io
import math
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlalchemy.engine import make_url

from bench.browser import _insert, build_show
from bench.pg import kept_database
from pm_db import migrate
from pm_db.db import Database
from pm_db.models import (
    Artist,
    Asset,
    Base,
    Event,
    JsonType,
    Part,
    Publish,
    Scene,
    Task,
    utcnow,
)
from pm_db.services import tokens

CHROMIUM = "/usr/bin/chromium"
COPY_ROWS = 50_000
KEPT_PG = "pm_bench_web"
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
    """One `publish.completed` event per publish, in publish order (one statement)."""
    source = select(
        literal("publish.completed"),
        literal("publish"),
        Publish.id,
        Publish.created_by,
        literal("bench"),
        literal({}, JsonType),
        Publish.created_at,
    ).order_by(Publish.id)
    columns = ["kind", "entity_type", "entity_id", "artist_id", "host", "payload", "created_at"]
    db.write(lambda s: s.execute(insert(Event).from_select(columns, source)))


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    text = str(value)
    for raw, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(raw, escaped)
    return text


def copy_show(sqlite_file: Path, pg_url: str) -> None:
    """Every row of the SQLite show into the (migrated, empty) PostgreSQL database of
    `pg_url`, with COPY, in one transaction; then its id sequences and statistics."""
    import psycopg2

    source = sqlite3.connect(sqlite_file)
    target = psycopg2.connect(
        make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        with target, target.cursor() as cursor:
            for table in Base.metadata.sorted_tables:
                names = [column.name for column in table.columns]
                rows = source.execute(f"SELECT {', '.join(names)} FROM {table.name}")
                while chunk := rows.fetchmany(COPY_ROWS):
                    data = io.StringIO(
                        "".join("\t".join(map(_copy_text, row)) + "\n" for row in chunk)
                    )
                    cursor.copy_expert(f"COPY {table.name} ({', '.join(names)}) FROM STDIN", data)
                if "id" in table.c:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
                    )
        target.autocommit = True
        with target.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        source.close()
        target.close()


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
        deep = s.scalar(
            select(Publish.id).where(Publish.part_id == heavy.id, Publish.version == 5000).limit(1)
        )
        return {
            "home": "/",
            "project": "/browse/project:1",
            "sequence": "/browse/sequence:1",
            "shot": f"/browse/shot:{shot_task.shot_id or sequence}",
            "USD asset": f"/browse/usd:{part.stream_id}:{part.asset_name}",
            "part (100 versions)": f"/browse/part:{part.id}",
            "USD asset (a part of 100,000 versions)": f"/browse/usd:{heavy.stream_id}:Hero",
            "part (heavy)": f"/browse/part:{heavy.id}",
            "part (heavy), a page half-way down": f"/browse/part:{heavy.id}?before={deep}",
            "publish": f"/publish/{publish}",
            "scene": f"/scene/{scene}",
            "search by name": "/search?q=sim",
            "search: status failed": "/search?status=failed",
            "search: artist + project": "/search?artist=artist3&project=BIG",
            "search: a date": "/search?until=2000-01-01",
            "activity": "/activity",
            "activity: one artist": "/activity?artist=artist5",
            "activity: one project": "/activity?project=BIG",
            "activity: poll": f"/activity/newer?after={newest}",
            "artist": "/artist/artist3",
            "task": f"/task/{shot_task.id}",
            "GET /api/events/": "/api/events/?limit=100",
        }

    return db.read(work)


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


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


def build(db: Database, root: Path, args: argparse.Namespace) -> None:
    """The show on a migrated, empty database."""
    started = time.perf_counter()
    build_show(db, root, args.shots, args.iterations, args.heavy)
    top_up_tasks(db, args.tasks)
    write_events(db)
    print(f"built in {time.perf_counter() - started:.0f} s")


def measure(label: str, db: Database, args: argparse.Namespace) -> None:
    """Server times (and first paints) of every page, as a Markdown table."""
    migrate.upgrade(db)
    publishes, tasks = db.read(
        lambda s: (
            s.scalar(select(func.count()).select_from(Publish)),
            s.scalar(select(func.count()).select_from(Task)),
        )
    )
    print(f"{label}: {publishes} publishes, {tasks} tasks, one event per publish")
    urls = pages(db)
    times = server_times(db, urls, args.repeat)
    paints = {} if args.no_browser else first_paints(db, urls, max(3, args.repeat // 3))
    print(f"| {label} page | server median | p95 | first paint median | p95 |")
    print("| --- | --- | --- | --- | --- |")
    for name, (median, p95) in times.items():
        paint = paints.get(name)
        shown = f"{paint[0]:.0f} ms | {paint[1]:.0f} ms" if paint else "| "
        print(f"| {name} | {median:.1f} ms | {p95:.1f} ms | {shown} |", flush=True)


def sqlite_show(folder: Path, args: argparse.Namespace) -> Path:
    """The SQLite show in `folder`, built unless a finished one is there."""
    file, built = folder / "web.sqlite", folder / "web.sqlite.built"
    if not built.exists():
        file.unlink(missing_ok=True)
        db = Database(f"sqlite:///{file}")
        migrate.upgrade(db)
        (folder / "root").mkdir(exist_ok=True)
        build(db, folder / "root", args)
        db.dispose()
        built.touch()
    return file


def pg_show(file: Path, url: str, built: Path | None) -> None:
    """The PostgreSQL show at `url` (an empty database) copied from the SQLite show,
    unless `built` marks it done."""
    if built is not None and built.exists():
        return
    db = Database(url)
    migrate.upgrade(db)
    db.dispose()
    started = time.perf_counter()
    copy_show(file, url)
    print(f"copied to PostgreSQL in {time.perf_counter() - started:.0f} s")
    if built is not None:
        built.touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--heavy", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="keep the shows here and reuse them")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        file = sqlite_show(folder, args)
        if not args.no_sqlite:
            db = Database(f"sqlite:///{file}")
            measure("SQLite", db, args)
            db.dispose()
        if args.no_pg:
            return
        if args.keep:
            url, built = kept_database(args.pg, KEPT_PG, folder / "pg.built"), folder / "pg.built"
        else:
            from bench.pg import scratch_database

            url, built = stack.enter_context(scratch_database(args.pg)), None
        pg_show(file, url, built)
        db = Database(url)
        measure("PostgreSQL", db, args)
        db.dispose()


if __name__ == "__main__":
    main()
