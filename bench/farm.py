"""A farm against the REST service: `python -m bench.farm [--clients 200] [--ops 10]`.

A PostgreSQL cluster of its own (initdb and pg_ctl as the postgres user, in a temporary
folder, on a free port: the shared server on 5432 is never touched), `pm serve --workers
4` on it, and CLIENTS farm jobs at once, each saving and publishing OPS times: save
(`POST /api/scenes/`), reserve with a request id (`POST /api/publishes/reserve/`), write
the data layer, complete (`POST /api/publishes/<id>/complete/`). While they run, the
cluster is restarted once (`pg_ctl restart -m fast`), and pg_stat_activity is sampled
every 0.2 s for the connections the service holds.

The clients retry as a farm job should: a request that never reached the service
(refused, connect timeout) always; an answer 502/503/504, or a reset or read timeout,
only when the request is safe to repeat (reserve and complete carry the request id or
the publish id; a save is repeated only after a 503, which says the database was not
reached). They wait what Retry-After says, else 0.25 s doubling to 2 s (jittered), for
at most 60 s per request. Afterwards the database is read back: every client must have
exactly OPS scenes and OPS published publishes, no number twice, nothing pending.

Prints a Markdown table: throughput, p50/p99 of a whole operation (save + publish) and of
each request, retries, the errors a job saw, duplicates, lost operations, and the most
connections pg_stat_activity showed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import Any

import httpx

from bench.api import _free_port, prepare

RETRY_WINDOW = 60.0
WORKERS = 4


@dataclass
class Tally:
    op_ms: list[float] = field(default_factory=list)
    request_ms: dict[str, list[float]] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[int, int] = field(default_factory=dict)


class Cluster:
    """A throw-away PostgreSQL cluster run as the postgres user."""

    def __init__(self) -> None:
        binaries = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            raise SystemExit("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = Path(binaries[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="pm-bench-farm-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/pm_farm"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c max_connections=400"
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
            "-l", str(self.folder / "server.log"), action, *extra,
        )  # fmt: skip

    def create_database(self) -> None:
        import psycopg2

        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        conn = psycopg2.connect(admin)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute("CREATE DATABASE pm_farm")
        finally:
            conn.close()

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop", "-m", "fast")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def own_cluster() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        cluster.pg_ctl("start")
        cluster.create_database()
        yield cluster
    finally:
        cluster.remove()


class ConnectionWatch(threading.Thread):
    """Samples pg_stat_activity: the most connections to the bench database at once."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.most = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg2

        query = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = 'pm_farm' AND pid <> pg_backend_pid()"
        )
        while not self.stop.is_set():
            try:
                conn = psycopg2.connect(self.url, connect_timeout=2)
            except psycopg2.OperationalError:
                self.stop.wait(0.2)
                continue
            try:
                conn.autocommit = True
                with conn.cursor() as cursor:
                    while not self.stop.wait(0.2):
                        cursor.execute(query)
                        row = cursor.fetchone()
                        self.most = max(self.most, int(row[0]) if row else 0)
                        self.samples += 1
            except psycopg2.OperationalError:
                self.stop.wait(0.2)
            finally:
                conn.close()


async def send(
    client: httpx.AsyncClient, tally: Tally, kind: str, url: str, body: Any, repeatable: bool
) -> Any:
    """POST with the farm job's retry rules; the answer's data, or raises RuntimeError."""
    give_up = time.monotonic() + RETRY_WINDOW
    delay = 0.25
    while True:
        start = time.perf_counter()
        wait: float | None = None
        cause = "refused"
        try:
            answer = await client.post(url, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            wait = delay  # never reached the service: always safe to send again
        except (httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if not repeatable:
                raise RuntimeError(f"{kind}: {type(exc).__name__} (may have been done)") from exc
            wait, cause = delay, type(exc).__name__
        else:
            tally.request_ms.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
            if answer.status_code < 300:
                return answer.json()["data"]
            retryable = answer.status_code == 503 or (
                repeatable and answer.status_code in (502, 504)
            )
            if not retryable:
                raise RuntimeError(f"{kind}: HTTP {answer.status_code} {answer.text[:200]}")
            header = answer.headers.get("Retry-After")
            wait = float(header) if header and header.isdigit() else delay
            cause = f"HTTP {answer.status_code}" + (" Retry-After" if header else "")
        if time.monotonic() + wait > give_up:
            raise RuntimeError(f"{kind}: still failing after {RETRY_WINDOW:.0f} s")
        tally.retries[cause] = tally.retries.get(cause, 0) + 1
        await asyncio.sleep(wait * random.uniform(0.8, 1.2))
        delay = min(delay * 2, 2.0)


def serve(db_url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`pm serve` as its own process; returns it and its base URL once it answers (a busy
    machine may take seconds to answer the first request)."""
    import requests

    port = _free_port()
    env = {**os.environ, "PM_DB_URL": db_url, "PM_PLATFORM": "linux"}
    command = [sys.executable, "-m", "pm_db", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/api/health/", timeout=5).ok:
                return process, base
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.terminate()
    process.wait(timeout=30)
    raise RuntimeError("pm serve did not answer within 120 s")


def data_layer(path: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('#usda 1.0\n(\n    defaultPrim = "cache"\n)\n\ndef Points "cache" {\n}\n')


async def farm_job(
    number: int, ops: int, base: str, task_id: int, client: httpx.AsyncClient, tally: Tally
) -> None:
    """One farm job: OPS times save, reserve, write, complete."""
    for op in range(ops):
        start = time.perf_counter()
        try:
            scene = await send(
                client, tally, "save", f"{base}/api/scenes/",
                {"task_id": task_id, "scene_name": f"Farm{number:03d}"}, repeatable=False,
            )  # fmt: skip
            reserved = await send(
                client, tally, "reserve", f"{base}/api/publishes/reserve/",
                {"scene_id": scene["id"], "asset_name": f"Asset{number:03d}",
                 "part_name": "cache", "request_id": f"farm-{number}-{op}"},
                repeatable=True,
            )  # fmt: skip
            data_layer(reserved["item_usd_path"])
            publish_id = reserved["publish_id"]
            url = f"{base}/api/publishes/{publish_id}/complete/"
            await send(client, tally, "complete", url, {}, repeatable=True)
        except RuntimeError as exc:
            tally.errors.append(f"job {number} op {op}: {exc}")
            continue
        tally.acknowledged[number] = tally.acknowledged.get(number, 0) + 1
        tally.op_ms.append((time.perf_counter() - start) * 1000)


async def run_farm(
    base: str, token: str, task_id: int, clients: int, ops: int, restart: Any
) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx.Timeout(30.0, connect=5.0)
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=timeout) as client:
        start = time.perf_counter()
        jobs = [
            asyncio.create_task(farm_job(n, ops, base, task_id, client, tally))
            for n in range(clients)
        ]
        target = clients * ops // 3
        while len(tally.op_ms) < target and not all(job.done() for job in jobs):
            await asyncio.sleep(0.05)
        await asyncio.to_thread(restart)
        await asyncio.gather(*jobs)
    return tally, time.perf_counter() - start


def read_back(url: str, clients: int, ops: int) -> dict[str, int]:
    """Per farm job from the database: lost (fewer than OPS scenes or publishes),
    duplicates (more, or a number twice), publishes not published."""
    from sqlalchemy import text

    from pm_db.db import Database

    db = Database(url)
    with db.engine.connect() as conn:
        scenes: dict[str, int] = dict(
            conn.execute(text("SELECT name, count(*) FROM scenes GROUP BY name")).all()
        )
        published: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT t.asset_name, count(*) FROM publishes p JOIN parts t "
                    "ON t.id = p.part_id WHERE p.status = 'published' GROUP BY t.asset_name"
                )
            ).all()
        )
        unfinished = conn.execute(
            text("SELECT count(*) FROM publishes WHERE status <> 'published'")
        ).scalar_one()
    db.dispose()
    lost = duplicates = 0
    for n in range(clients):
        for found in (scenes.get(f"Farm{n:03d}", 0), published.get(f"Asset{n:03d}", 0)):
            lost += max(0, ops - found)
            duplicates += max(0, found - ops)
    return {"lost": lost, "duplicates": duplicates, "unfinished": int(unfinished)}


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.farm")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--ops", type=int, default=10)
    args = parser.parse_args()
    from bench.api import stored_duplicates

    load_before = os.getloadavg()[0]
    with own_cluster() as cluster, tempfile.TemporaryDirectory() as root:
        task_id, _shot, token = prepare(cluster.url, Path(root) / "show")
        service, base = serve(cluster.url, WORKERS)
        watch = ConnectionWatch(cluster.url)
        watch.start()
        downtime: list[float] = []

        def restart() -> None:
            began = time.perf_counter()
            cluster.pg_ctl("restart", "-m", "fast")
            downtime.append(time.perf_counter() - began)

        try:
            tally, seconds = asyncio.run(
                run_farm(base, token, task_id, args.clients, args.ops, restart)
            )
        finally:
            watch.stop.set()
            service.terminate()
            service.wait(timeout=30)
        check = read_back(cluster.url, args.clients, args.ops)
        numbered_twice = stored_duplicates(cluster.url)
    total = args.clients * args.ops
    print(
        f"{args.clients} clients x {args.ops} operations (save + reserve + complete), pm serve "
        f"--workers {WORKERS}, PostgreSQL restarted once ({downtime[0]:.1f} s)\n"
    )
    print("| figure | value |\n| --- | --- |")
    rows = [
        ("operations acknowledged", f"{len(tally.op_ms)} of {total}"),
        ("throughput", f"{len(tally.op_ms) / seconds:.1f} operations/s ({seconds:.1f} s)"),
        ("operation p50 / p99", f"{percentile(tally.op_ms, 50):.0f} / "
         f"{percentile(tally.op_ms, 99):.0f} ms"),
    ]  # fmt: skip
    for kind, values in tally.request_ms.items():
        rows.append(
            (f"{kind} p50 / p99", f"{percentile(values, 50):.0f} / {percentile(values, 99):.0f} ms")
        )
    rows += [
        ("retries", ", ".join(f"{n} {c}" for c, n in sorted(tally.retries.items())) or "0"),
        ("errors a job saw", str(len(tally.errors))),
        ("lost operations (database)", str(check["lost"])),
        ("duplicates (database)", str(check["duplicates"] + numbered_twice)),
        ("publishes not published", str(check["unfinished"])),
        ("most connections (pg_stat_activity)", f"{watch.most} ({watch.samples} samples)"),
        ("load average before / after", f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    for error in tally.errors[:10]:
        print(f"- {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PM_PLATFORM", "linux")
    sys.exit(main())
