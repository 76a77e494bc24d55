"""The REST service under load: `python -m bench.api`.

1. Latency on loopback: a real `pm serve` (a separate process, one worker, SQLite), one
   client with a kept-alive connection; median and p90 of `POST /api/scenes/` (save) and
   of `POST /api/publishes/` (the original API's one-call publish, its data layer written first).
   Two clients take turns, pair by pair, so both meet the machine in the same state:
   `requests` (what pm's remote backend uses; about 1 ms of its own per call here) and
   the standard library's `http.client` (little more than the wire: the service's own
   latency).
2. 16 concurrent clients against `pm serve --workers N` on PostgreSQL (a scratch database
   on PM_TEST_PG_URL's server, dropped after): every client saves the SAME scene stream and
   publishes from each of its saves, as fast as it can: all into one asset (every publish
   rewrites the same layers), then each client into its own asset. Counts failed requests
   and duplicate numbers (from the answers and from the database), and publishes per
   second.

The same concurrency runs on SQLite are printed too. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "PM_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Show:
    url: str
    token: str
    task_id: int
    target_id: int
    asset: str = "PinchIn"


@dataclass
class Tally:
    saves: list[tuple[int, int]] = field(default_factory=list)
    publishes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    save_ms: list[float] = field(default_factory=list)
    publish_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Answer:
    """What save_and_publish reads of a response, from either client."""

    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class WireClient:
    """A kept-alive `http.client` connection with a `requests`-like `post` and `get`:
    the lean client of the latency table."""

    def __init__(self, base: str, token: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.connection = http.client.HTTPConnection(host, int(port))
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, url: str, json: Any) -> Answer:
        return self._send("POST", url, _dumps(json))

    def get(self, url: str) -> Answer:
        return self._send("GET", url, None)

    def _send(self, method: str, url: str, body: bytes | None) -> Answer:
        path = "/" + url.removeprefix("http://").partition("/")[2]
        self.connection.request(method, path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        return Answer(response.status, response.read().decode("utf-8"))


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prepare(db_url: str, root: Path) -> tuple[int, int, str]:
    """A migrated database with one shot task for jdoe; returns (task, shot, token)."""
    from pm_db import migrate
    from pm_db.db import Database
    from pm_db.services import entities, tokens

    db = Database(db_url)
    migrate.upgrade(db)
    artist = entities.create(db, "artist", {"login": "jdoe", "name": "Jane Doe"})
    project = entities.create(
        db, "project", {"code": "FX3X", "name": "Bench", "root_linux": str(root)}
    )
    sequence = entities.create(db, "sequence", {"project_id": project.id, "code": "SQ010"})
    shot = entities.create(db, "shot", {"sequence_id": sequence.id, "code": "SH010"})
    task = entities.create(
        db,
        "task",
        {"target_type": "shot", "target_id": shot.id, "step": "fx", "artist_id": artist.id},
    )
    token = tokens.create_token(db, "jdoe", label="bench").token
    db.dispose()
    return task.id, shot.id, token


def serve(db_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`pm serve` as its own process; returns it and its base URL once it answers."""
    port = _free_port()
    env = {**os.environ, "PM_DB_URL": db_url, "PM_PLATFORM": "linux"}
    command = [sys.executable, "-m", "pm_db", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/api/health/", timeout=1)
            return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("pm serve did not start")


def data_layer(path: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        '#usda 1.0\n(\n    defaultPrim = "particles01"\n)\n\ndef Points "particles01" {\n}\n'
    )


def original_payload(show: Show, scene: dict[str, Any]) -> dict[str, Any]:
    """The original API's publish of particles01 of the show's asset from a saved scene."""
    folder = scene["path"].rsplit("/", 1)[0]
    numbers = f"v{scene['version']:03d}_i{scene['iteration']:03d}"
    return {
        "task_id": show.task_id,
        "target_type": "shot",
        "target_id": show.target_id,
        "software": "houdini",
        "source_version": scene["version"],
        "source_iteration": scene["iteration"],
        "item_usd_path": f"{folder}/usd/{show.asset}/particles01/data/particles01_{numbers}.usd",
        "asset_usd_path": f"{folder}/usd/{show.asset}/{show.asset}.usd",
        "status": "published",
        "metadata": {"asset_name": show.asset, "part_name": "particles01"},
    }


def save_and_publish(session: requests.Session | WireClient, show: Show, tally: Tally) -> None:
    """One save then one publish from it, timed and checked."""
    start = time.perf_counter()
    saved = session.post(
        f"{show.url}/api/scenes/", json={"task_id": show.task_id, "scene_name": "PinchIn"}
    )
    elapsed = (time.perf_counter() - start) * 1000
    if saved.status_code != 201:
        with tally.lock:
            tally.failures.append(f"save {saved.status_code} {saved.text[:200]}")
        return
    scene = saved.json()["data"]
    payload = original_payload(show, scene)
    data_layer(payload["item_usd_path"])
    start = time.perf_counter()
    published = session.post(f"{show.url}/api/publishes/", json=payload)
    publish_elapsed = (time.perf_counter() - start) * 1000
    with tally.lock:
        tally.saves.append((scene["version"], scene["iteration"]))
        tally.save_ms.append(elapsed)
        if published.status_code != 201:
            tally.failures.append(f"publish {published.status_code} {published.text[:200]}")
            return
        tally.publishes.append(published.json()["data"]["publish_id"])
        tally.publish_ms.append(publish_elapsed)


def client(show: Show, count: int, tally: Tally, go: threading.Event) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {show.token}"
    go.wait()
    for _ in range(count):
        try:
            save_and_publish(session, show, tally)
        except requests.RequestException as exc:
            with tally.lock:
                tally.failures.append(f"request {type(exc).__name__}")


def run_clients(show: Show, clients: int, per_client: int, spread: bool) -> tuple[Tally, float]:
    """`clients` threads at once; with `spread` each publishes its own asset, else all
    publish the same one."""
    tally = Tally()
    go = threading.Event()
    shows = [replace(show, asset=f"Asset{n:02d}") if spread else show for n in range(clients)]
    threads = [threading.Thread(target=client, args=(one, per_client, tally, go)) for one in shows]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - start


def stored_duplicates(db_url: str) -> int:
    """Scene numbers or publish numbers the database holds twice (must be 0)."""
    from sqlalchemy import func, select

    from pm_db.db import Database
    from pm_db.models import Publish, Scene

    db = Database(db_url)

    def work(session: Any) -> int:
        total = 0
        for columns in (
            (Scene.stream_id, Scene.version, Scene.iteration),
            (Publish.part_id, Publish.version, Publish.iteration),
        ):
            grouped = select(*columns).group_by(*columns).having(func.count() > 1)
            total += len(session.execute(grouped).all())
        return total

    found = db.read(work)
    db.dispose()
    return found


def in_process(db_url: str, root: Path, rounds: int) -> list[float]:
    """Milliseconds of LocalBackend.publish_part itself (what a route calls), no HTTP."""
    from pm_db.backend import LocalBackend
    from pm_db.db import Database

    task_id, shot_id, _ = prepare(db_url, root)
    db = Database(db_url)
    backend = LocalBackend(db=db)
    timings: list[float] = []
    for _ in range(rounds):
        scene = backend.save_scene({"task_id": task_id, "artist": "jdoe", "scene_name": "PinchIn"})
        payload = original_payload(Show("", "", task_id, shot_id), scene.model_dump(mode="json"))
        data_layer(payload["item_usd_path"])
        start = time.perf_counter()
        backend.publish_part(payload)
        timings.append((time.perf_counter() - start) * 1000)
    db.dispose()
    return timings


def latency(db_url: str, root: Path, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per request against a real `pm serve` (one worker), by client: the
    two clients take turns, one save + publish pair (then one `GET /api/me/`) each."""
    task_id, shot_id, token = prepare(db_url, root)
    process, base = serve(db_url, workers=1)
    try:
        show = Show(base, token, task_id, shot_id)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        clients: dict[str, requests.Session | WireClient] = {
            "requests": session,
            "http.client": WireClient(base, token),
        }
        tallies = {name: Tally() for name in clients}
        floors: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(20):
            for client in clients.values():
                save_and_publish(client, show, Tally())
        for _ in range(rounds):
            for name, client in clients.items():
                save_and_publish(client, show, tallies[name])
        for _ in range(rounds):
            for name, client in clients.items():
                start = time.perf_counter()
                answer = client.get(f"{base}/api/me/")
                floors[name].append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, answer.text
    finally:
        process.terminate()
        process.wait()
    for tally in tallies.values():
        assert not tally.failures, tally.failures[:3]
    return {
        name: {
            "publish": tallies[name].publish_ms,
            "save": tallies[name].save_ms,
            "me": floors[name],
        }
        for name in clients
    }


def _row(label: str, timings: list[float]) -> str:
    p90 = statistics.quantiles(timings, n=10)[-1]
    return f"| {label} | {statistics.median(timings):.2f} ms | {p90:.2f} ms |"


def concurrency(
    db_url: str, root: Path, workers: int, clients: int, per_client: int, spread: bool
) -> dict[str, Any]:
    task_id, shot_id, token = prepare(db_url, root)
    process, base = serve(db_url, workers=workers)
    try:
        show = Show(base, token, task_id, shot_id)
        tally, wall = run_clients(show, clients, per_client, spread)
    finally:
        process.terminate()
        process.wait()
    answered_twice = len(tally.saves) - len(set(tally.saves))
    return {
        "requests": 2 * clients * per_client,
        "failed": len(tally.failures),
        "first_failure": tally.failures[0] if tally.failures else "",
        "duplicates": answered_twice + stored_duplicates(db_url),
        "publishes_per_s": len(tally.publishes) / wall,
        "publish_median": statistics.median(tally.publish_ms),
        "save_median": statistics.median(tally.save_ms),
        "wall_s": wall,
    }


def pg_scratch() -> tuple[str, Any]:
    """A new PostgreSQL database, and the function that drops it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"pm_bench_api_{os.getpid()}_{time.monotonic_ns()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False), drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="timed save+publish pairs")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--per-client", type=int, default=25)
    parser.add_argument("--workers", type=int, default=4, help="pm serve workers on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        sqlite_url = f"sqlite:///{home / 'latency.sqlite'}"
        timing = latency(sqlite_url, home / "latency", args.rounds)
        local = in_process(f"sqlite:///{home / 'local.sqlite'}", home / "local", args.rounds)
        print("| measure (SQLite, loopback, one kept-alive client) | client | median | p90 |")
        print("| --- | --- | --- | --- |")
        for label, key in (
            ("POST /api/publishes/ (project_manager publish)", "publish"),
            ("POST /api/scenes/ (save)", "save"),
            ("GET /api/me/ (token check + framework)", "me"),
        ):
            for client, measured in timing.items():
                print(_row(f"{label} | {client}", measured[key]))
        print(_row("LocalBackend.publish_part in process, no HTTP | none", local))
        print()
        print(
            "| database | workers | assets | requests | failed | duplicates | publishes/s "
            "| publish median | save median |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, workers in (("SQLite", 1), ("PostgreSQL", args.workers)):
            for spread in (False, True):
                if label == "SQLite":
                    url, cleanup = f"sqlite:///{home / f'load-{spread}.sqlite'}", None
                else:
                    url, cleanup = pg_scratch()
                try:
                    found = concurrency(
                        url,
                        home / f"{label}-{spread}",
                        workers,
                        args.clients,
                        args.per_client,
                        spread,
                    )
                finally:
                    if cleanup:
                        cleanup()
                assets = f"{args.clients} (one each)" if spread else "1 (all clients)"
                print(
                    f"| {label} | {workers} | {assets} | {found['requests']} | {found['failed']} "
                    f"| {found['duplicates']} | {found['publishes_per_s']:.0f} "
                    f"| {found['publish_median']:.1f} ms | {found['save_median']:.1f} ms |"
                )
                if found["first_failure"]:
                    print(f"first failure ({label}): {found['first_failure']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
