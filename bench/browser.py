"""The asset browser over 100,000+ publishes: first paint, filter keystrokes, UI stalls.

`python -m bench.browser [--shots 200] [--iterations 50] [--heavy 5000] [--no-pg]` builds a
show on SQLite and on PostgreSQL: 10 sequences of `--shots`/10 shots, two scene locations
per shot (each one USD asset of 5 parts), `--iterations` scene iterations per location,
each publishing every part (so 200 x 2 x 50 x 5 = 100,000 publishes, with deprecated,
failed and pending ones, and pins), plus one part with `--heavy` versions. The entities
come from the service layer; scenes, parts and publishes are bulk-inserted with the same
paths the templates give (a realistic history, made in seconds instead of hours).

Then, on the real widget (Qt offscreen):
- first paint: from creating the browser to its project rows painted (fresh database
  engine each time; pm_db already imported), and the same in a fresh process that imports
  pm_houdini.browser (and, on its worker thread, SQLAlchemy) as Houdini would;
- filter keystroke to repaint: typing a part name into the search box, then deleting it,
  over a session with thousands of rows loaded;
- UI stalls: a 2 ms heartbeat timer on the UI thread during a scripted session (expand
  levels, page through 5,000 versions, search, refresh); the longest gap between beats is
  the longest the UI thread was busy, next to the longest query the workers ran.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sqlalchemy import insert, select, text

from pm_db import migrate
from pm_db.backend import LocalBackend
from pm_db.db import Database
from pm_db.models import Artist, Part, PartPin, Publish, Scene, SceneStream, utcnow
from pm_db.services import entities
from pm_db.services.context import load_context

ASSETS = ("PinchIn", "Splash", "Debris", "Smoke", "Sparks", "Dust", "Fire", "Rain")
PARTS = ("particles01", "debris01", "smoke01", "sparks01", "dust01")
SEQUENCES = 10
BATCH = 20_000


# The show -----------------------------------------------------------------------------


def build_show(db: Database, root: Path, shots: int, iterations: int, heavy: int) -> int:
    """Create the show; returns how many publishes it holds."""
    project = entities.create(
        db, "project", {"code": "BIG", "name": "Benchmark show", "root_linux": str(root)}
    )
    artists = [
        entities.create(db, "artist", {"login": f"artist{n}", "name": f"Artist {n}"})
        for n in range(8)
    ]
    tasks: list[tuple[int, str]] = []
    per_sequence = max(1, shots // SEQUENCES)
    for s in range(SEQUENCES):
        sequence = entities.create(
            db, "sequence", {"project_id": project.id, "code": f"SQ{(s + 1) * 10:03d}"}
        )
        for n in range(per_sequence):
            shot = entities.create(
                db, "shot", {"sequence_id": sequence.id, "code": f"SH{(n + 1) * 10:04d}"}
            )
            artist = artists[len(tasks) % len(artists)]
            task = entities.create(
                db,
                "task",
                {"target_type": "shot", "target_id": shot.id, "step": "fx", "artist_id": artist.id},
            )
            tasks.append((task.id, artist.login))
    for n in range(20):
        asset = entities.create(
            db, "asset", {"project_id": project.id, "code": f"Prop{n:02d}", "asset_type": "prop"}
        )
        entities.create(
            db,
            "task",
            {"target_type": "asset", "target_id": asset.id, "step": "model", "artist_id": 1},
        )
    streams: list[tuple[int, str, str, tuple[str, ...], int]] = [
        (task_id, login, ASSETS[(index * 2 + k) % len(ASSETS)], PARTS, iterations)
        for index, (task_id, login) in enumerate(tasks)
        for k in range(2)
    ]
    streams[0] = (tasks[0][0], tasks[0][1], "Hero", ("sim01",), heavy)
    return sum(_stream(db, *stream) for stream in streams)


def _insert(db: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` in batches, one transaction each."""
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]

        def work(session: Any, chunk: list[dict[str, Any]] = chunk) -> None:
            session.execute(insert(model), chunk)

        db.write(work)


def _numbers(count: int) -> list[tuple[int, int]]:
    """(version, iteration) of `count` saves: a version up every 10 saves."""
    return [(n // 10 + 1, n % 10 + 1) for n in range(count)]


def _stream(
    db: Database, task_id: int, login: str, asset: str, parts: tuple[str, ...], count: int
) -> int:
    """One scene location saved `count` times, each save publishing every part."""
    names = {"software": "houdini", "artist": login, "scene": asset, "asset": asset}
    numbers = _numbers(count)
    now = utcnow()

    def setup(session: Any) -> tuple[Any, int, list[int]]:
        context = load_context(session, task_id)
        folder = context.relative("scene_folder", **names)
        last = numbers[-1]
        stream_id = session.execute(
            insert(SceneStream)
            .values(
                project_id=context.project.id,
                key=folder.casefold(),
                folder=folder,
                version=last[0],
                iteration=last[1],
            )
            .returning(SceneStream.id)
        ).scalar_one()
        part_ids = [
            session.execute(
                insert(Part)
                .values(
                    stream_id=stream_id,
                    asset_name=asset,
                    name=part,
                    withdrawn=False,
                    created_at=now,
                )
                .returning(Part.id)
            ).scalar_one()
            for part in parts
        ]
        return context, stream_id, part_ids

    context, stream_id, part_ids = db.write(setup)
    artist_id = db.read(
        lambda s: s.execute(select(Artist.id).where(Artist.login == login)).scalar_one()
    )
    scene_rows = [
        {
            "stream_id": stream_id,
            "task_id": task_id,
            "artist_id": artist_id,
            "software": "houdini",
            "name": asset,
            "version": v,
            "iteration": i,
            "path": context.relative("scene_file", **names, version=v, iteration=i, ext="hip"),
            "host": "bench",
            "software_version": "21.0.512",
            "created_at": now,
        }
        for v, i in numbers
    ]
    _insert(db, Scene, scene_rows)
    scene_ids = dict(
        ((v, i), ident)
        for ident, v, i in db.read(
            lambda s: s.execute(
                select(Scene.id, Scene.version, Scene.iteration).where(Scene.stream_id == stream_id)
            ).all()
        )
    )
    rows: list[dict[str, Any]] = []
    for part_id, part in zip(part_ids, parts, strict=True):
        part_path = context.relative("part_layer", **names, part=part)
        asset_path = context.relative("asset_layer", **names, part=part)
        seq = 0
        statuses = []
        for n in range(len(numbers)):
            last = n == len(numbers) - 1
            if last and part_id % 7 == 0:
                status = "pending"
            elif n % 23 == 22:
                status = "failed"
            elif n % 17 == 16:
                status = "deprecated"
            else:
                status = "published"
            statuses.append(status)
        latest = max(n for n, s in enumerate(statuses) if s == "published")
        for n, ((v, i), status) in enumerate(zip(numbers, statuses, strict=True)):
            done = status in ("published", "deprecated")
            seq += done
            rows.append(
                {
                    "publish_id": f"bench-{part_id}-{n}",
                    "part_id": part_id,
                    "scene_id": scene_ids[(v, i)],
                    "task_id": task_id,
                    "target_type": context.target_type,
                    "target_id": context.task.shot_id or context.task.asset_id,
                    "software": "houdini",
                    "asset_name": asset,
                    "part_name": part,
                    "version": v,
                    "iteration": i,
                    "item_usd_path": context.relative(
                        "part_data", **names, part=part, version=v, iteration=i
                    ),
                    "part_usd_path": part_path,
                    "asset_usd_path": asset_path,
                    "status": status,
                    "is_latest": n == latest,
                    "published_seq": seq if done else None,
                    "attempts": 1,
                    "error": "ROP cook error" if status == "failed" else None,
                    "metadata": {"frames": [1001, 1100], "node": "/stage/usd_rop1"},
                    "created_by": artist_id,
                    "created_at": now,
                    "completed_at": now if done else None,
                }
            )
    _insert(db, Publish, rows)

    def pins(session: Any) -> None:
        for part_id in part_ids:
            if part_id % 20 == 3:
                first = session.scalar(
                    select(Publish.id)
                    .where(Publish.part_id == part_id, Publish.status == "published")
                    .order_by(Publish.id)
                    .limit(1)
                )
                session.execute(insert(PartPin).values(part_id=part_id, publish_id=first))

    db.write(pins)
    return len(rows)


# Measuring ------------------------------------------------------------------------------


class TimedBackend(LocalBackend):
    """A LocalBackend that records how long each call took (on the worker thread)."""

    def __init__(self, db: Database, calls: list[tuple[str, float]]) -> None:
        super().__init__(db=db)
        self.calls = calls

    def __getattribute__(self, name: str) -> Any:
        attribute = super().__getattribute__(name)
        if not name.startswith("browse_") or not callable(attribute):
            return attribute
        calls: list[tuple[str, float]] = super().__getattribute__("calls")

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                calls.append((name, (time.perf_counter() - started) * 1000))

        return timed


def _app() -> Any:
    from pm_houdini.browser.style import apply_theme
    from pm_houdini.qt import application

    app = application()
    apply_theme(app)
    return app


def _wait(app: Any, done: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        app.processEvents()
        time.sleep(0.0005)
        if time.monotonic() > deadline:
            raise TimeoutError("the browser did not settle")


def _has_rows(browser: Any) -> bool:
    return bool(browser.model.rowCount() > 0)


def first_paint(url: str, runs: int) -> list[float]:
    """Milliseconds from creating the browser to its project rows painted."""
    from pm_houdini.browser import AssetBrowser

    app = _app()
    times = []
    for _ in range(runs):
        db = Database(url)
        started = time.perf_counter()
        browser = AssetBrowser(partial(LocalBackend, db=db))
        browser.resize(1200, 700)
        browser.show()
        _wait(app, partial(_has_rows, browser))
        browser.tree.viewport().repaint()
        times.append((time.perf_counter() - started) * 1000)
        _wait(app, browser.is_idle)
        browser.shutdown()
        browser.deleteLater()
        app.processEvents()
        db.dispose()
    return times


# What Houdini does when the panel opens: PySide is loaded; pm_houdini.browser (and, on a
# worker thread, pm_db's database stack) is imported now.
CHILD = """
import os, sys, time
from pm_houdini.qt import QtWidgets
app = QtWidgets.QApplication([])
started = time.perf_counter()
from pm_houdini.browser import AssetBrowser
browser = AssetBrowser()
browser.show()
app.processEvents()
browser.repaint()
drawn = (time.perf_counter() - started) * 1000
while browser.model.rowCount() == 0:
    app.processEvents()
    time.sleep(0.0005)
browser.tree.viewport().repaint()
print(f"{drawn:.1f} {(time.perf_counter() - started) * 1000:.1f}")
while not browser.is_idle():
    app.processEvents()
    time.sleep(0.0005)
browser.shutdown()
"""


# The same after Houdini ran pm's uiready.py and the artist opened the panel a second later.
PRELOADED_CHILD = (
    "import time\nfrom pm_houdini import preload\npreload.start().join()\ntime.sleep(1.0)\n" + CHILD
)


def cold_first_paint(url: str, runs: int, child: str = CHILD) -> list[tuple[float, float]]:
    """(panel drawn, rows painted) in fresh processes that import the browser and the
    database stack (or, with PRELOADED_CHILD, found it loaded by uiready.py)."""
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", child],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PM_DB_URL": url, "PM_PLATFORM": "linux"},
        ).stdout
        drawn, rows = out.strip().splitlines()[-1].split()
        times.append((float(drawn), float(rows)))
    return times


@contextmanager
def full_collections() -> Iterator[list[int]]:
    """A list that counts Python's full (generation 2) garbage collections while the block
    runs."""
    counted: list[int] = []

    def collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            counted.append(1)

    gc.callbacks.append(collection)
    try:
        yield counted
    finally:
        gc.callbacks.remove(collection)


def timed_key(browser: Any, character: str, collected: list[int]) -> tuple[float, bool]:
    """(milliseconds from a key in the search box to the tree repainted, whether a full
    garbage collection ran meanwhile)."""
    before = len(collected)
    started = time.perf_counter()
    type_key(browser.search, character)
    browser.tree.viewport().repaint()
    return (time.perf_counter() - started) * 1000, len(collected) > before


def type_key(widget: Any, character: str) -> None:
    """Press and release one key on `widget`, as typing does ("\\b" is Backspace)."""
    from pm_houdini.qt import QtCore, QtGui, QtWidgets

    keys = QtCore.Qt.Key
    name = "Key_Backspace" if character == "\b" else f"Key_{character.upper()}"
    key = getattr(keys, name)
    text = "" if character == "\b" else character
    for kind in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease):
        event = QtGui.QKeyEvent(kind, key, QtCore.Qt.KeyboardModifier.NoModifier, text)
        QtWidgets.QApplication.sendEvent(widget, event)


@dataclass
class Beats:
    """What a UI-thread heartbeat saw: the gaps between beats and Python's full garbage
    collections meanwhile (each an interval of perf_counter seconds)."""

    gaps: list[tuple[float, float]] = field(default_factory=list)
    collections: list[tuple[float, float]] = field(default_factory=list)

    def longest(self) -> float:
        return max(((end - start) * 1000 for start, end in self.gaps), default=0.0)

    def longest_apart_from_collections(self) -> float:
        """The longest gap that no garbage collection overlapped."""
        return max(
            (
                (end - start) * 1000
                for start, end in self.gaps
                if not any(s < end and start < e for s, e in self.collections)
            ),
            default=0.0,
        )

    def percentile(self, share: float) -> float:
        """The gap that `share` (0-1) of all gaps are shorter than."""
        ordered = sorted((end - start) * 1000 for start, end in self.gaps)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def longest_collection(self) -> float:
        return max(((end - start) * 1000 for start, end in self.collections), default=0.0)


@contextmanager
def heartbeat(app: Any) -> Iterator[Beats]:
    """The beats of a 2 ms UI-thread timer while the block runs."""
    from pm_houdini.qt import QtCore

    beats = Beats()
    last = [time.perf_counter()]
    started: list[float] = []

    def beat() -> None:
        now = time.perf_counter()
        beats.gaps.append((last[0], now))
        last[0] = now

    def collection(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            beats.collections.append((started.pop(), time.perf_counter()))

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(2)
    timer.timeout.connect(beat)
    gc.callbacks.append(collection)
    timer.start()
    try:
        yield beats
    finally:
        timer.stop()
        gc.callbacks.remove(collection)


@contextmanager
def timed_answers(durations: list[float]) -> Iterator[None]:
    """Record how long the UI thread spends on each answer from a worker (the callbacks)."""
    from pm_houdini.browser.loader import Loader

    original = Loader._finished

    def finished(self: Loader, job_id: int, ok: bool, value: object) -> None:
        started = time.perf_counter()
        original(self, job_id, ok, value)
        durations.append((time.perf_counter() - started) * 1000)

    Loader._finished = finished  # type: ignore[method-assign]
    try:
        yield
    finally:
        Loader._finished = original  # type: ignore[method-assign]


def idle_gap(app: Any, seconds: float = 2.0) -> Beats:
    """The heartbeat with nothing to do: this machine's scheduling noise."""
    with heartbeat(app) as beats:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.0005)
    return beats


def session(url: str, heavy_part_versions: int) -> dict[str, Any]:
    """The scripted session; returns its figures."""
    from pm_houdini.browser import AssetBrowser

    app = _app()
    figures: dict[str, Any] = {"idle_gap": idle_gap(app)}
    db = Database(url)
    calls: list[tuple[str, float]] = []
    answers: list[float] = []
    with timed_answers(answers):
        browser = AssetBrowser(lambda: TimedBackend(db, calls))
    browser.resize(1400, 800)
    browser.show()
    with heartbeat(app) as loading:
        _wait(app, browser.is_idle)
        project = browser.model.root.children[0]
        for sequence in list(project.children):
            if sequence.kind == "sequence":
                browser.expand_key(sequence.key)
        _wait(app, browser.is_idle)
        shots = [s for q in project.children for s in q.children if s.kind == "shot"]
        for shot in shots:
            browser.expand_key(shot.key)
        _wait(app, browser.is_idle)
        usd_assets = [u for s in shots for u in s.children if u.kind == "usd_asset"]
        for usd in usd_assets:
            browser.expand_key(usd.key)
        _wait(app, browser.is_idle)
        parts = [p for u in usd_assets for p in u.children if p.kind == "part"]
        for part in parts[:20]:
            browser.expand_key(part.key)
        _wait(app, browser.is_idle)
        heavy = next(p for p in parts if p.expected >= heavy_part_versions)
        browser.expand_key(heavy.key)
        _wait(app, browser.is_idle)
        while heavy.children and heavy.children[-1].kind == "more":
            browser.model.request_more(heavy.children[-1])
            _wait(app, browser.is_idle)
        figures["heavy_versions_loaded"] = sum(1 for c in heavy.children if c.kind == "publish")
    figures["rows_loaded"] = sum(1 for _ in browser.model.walk())
    figures["loading"] = loading

    # The first key event of a process builds some of PySide's enum types; Houdini has long
    # done that by the time an artist types, so one key goes elsewhere first.
    type_key(browser.refresh_button, "x")
    with full_collections() as collected:
        keystrokes = [timed_key(browser, character, collected) for character in "particles01"]
        deletes = [timed_key(browser, "\b", collected) for _ in "particles01"]
    figures["keystroke"] = [ms for ms, _ in keystrokes]
    figures["delete"] = [ms for ms, _ in deletes]
    figures["keys_apart_from_collections"] = [
        ms for ms, collecting in keystrokes + deletes if not collecting
    ]

    with heartbeat(app) as searching:
        for word in ("debris", "SH0150", "Hero"):
            started = time.perf_counter()
            browser.search.setText(word)
            _wait(app, browser.is_idle)
            browser.tree.viewport().repaint()
            figures.setdefault("search_to_screen", []).append(
                (time.perf_counter() - started) * 1000
            )
        browser.search.clear()
        started = time.perf_counter()
        browser.refresh()
        _wait(app, browser.is_idle)
        _wait(app, browser.is_idle)
        figures["refresh"] = (time.perf_counter() - started) * 1000
    figures["searching"] = searching
    figures["longest_query"] = max(calls, key=lambda c: c[1])
    figures["longest_answer"] = max(answers)
    figures["queries"] = len(calls)
    browser.shutdown()
    db.dispose()
    return figures


# Running --------------------------------------------------------------------------------


def run(label: str, url: str, args: argparse.Namespace) -> None:
    db = Database(url)
    migrate.upgrade(db)
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        total = build_show(db, Path(root) / "show", args.shots, args.iterations, args.heavy)
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"{label}: built {total:,} publishes in {time.perf_counter() - started:.0f} s")
        warm = first_paint(url, 10)
        cold = cold_first_paint(url, 3)
        preloaded = cold_first_paint(url, 3, PRELOADED_CHILD)
        print(
            f"{label}: first paint: median {statistics.median(warm):.0f} ms, max "
            f"{max(warm):.0f} ms (10 runs); fresh process: panel drawn "
            f"{', '.join(f'{d:.0f}' for d, _ in cold)} ms, rows painted "
            f"{', '.join(f'{r:.0f}' for _, r in cold)} ms; fresh process after uiready.py: "
            f"rows painted {', '.join(f'{r:.0f}' for _, r in preloaded)} ms"
        )
        figures = session(url, args.heavy)
        keys, deletes = figures["keystroke"], figures["delete"]
        print(
            f"{label}: {figures['rows_loaded']:,} rows loaded "
            f"({figures['heavy_versions_loaded']:,} versions of one part)"
        )
        print(
            f"{label}: filter keystroke to repaint: median {statistics.median(keys):.1f} ms, "
            f"max {max(keys):.1f} ms; delete: median {statistics.median(deletes):.1f} ms, "
            f"max {max(deletes):.1f} ms; longest key apart from full garbage collections: "
            f"{max(figures['keys_apart_from_collections']):.1f} ms"
        )
        print(
            f"{label}: search to screen: "
            + ", ".join(f"{t:.0f}" for t in figures["search_to_screen"])
            + f" ms; refresh keeping {figures['rows_loaded']:,} rows open: "
            f"{figures['refresh']:.0f} ms"
        )
        name, longest = figures["longest_query"]
        loading, searching = figures["loading"], figures["searching"]
        collection = max(loading.longest_collection(), searching.longest_collection())
        idle = figures["idle_gap"]
        print(
            f"{label}: 99th percentile of UI-thread gaps: loading "
            f"{loading.percentile(0.99):.1f} ms, search and refresh "
            f"{searching.percentile(0.99):.1f} ms, idle {idle.percentile(0.99):.1f} ms"
        )
        print(
            f"{label}: longest UI-thread gap while loading: "
            f"{figures['loading'].longest_apart_from_collections():.1f} ms apart from garbage "
            f"collections ({figures['loading'].longest():.1f} ms with them); during search and "
            f"refresh: {figures['searching'].longest_apart_from_collections():.1f} ms "
            f"({figures['searching'].longest():.1f} ms); longest full garbage collection: "
            f"{collection:.1f} ms; "
            f"longest query (worker): {name} {longest:.0f} ms of {figures['queries']} queries; "
            f"longest UI work on an answer: {figures['longest_answer']:.1f} ms; "
            f"idle machine gap: {figures['idle_gap'].longest():.1f} ms"
        )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--heavy", type=int, default=5000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/pm.sqlite", args)
    if not args.no_pg:
        from bench.pg import scratch_database

        with scratch_database(args.pg) as url:
            run("PostgreSQL", url, args)


if __name__ == "__main__":
    main()
