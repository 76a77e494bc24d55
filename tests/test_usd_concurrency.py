"""Concurrent publishers of one asset: every part ends up in the asset layer, and the
layer rewrite is serialized by the asset's lock. On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from sqlalchemy.orm import Session

from pm_db.usd import layers
from pm_db.usd.state import AssetKey, asset_state, key_of_part
from tests.helpers import Studio
from tests.test_usd_support import REPO, composed_parts, process_env, publish, save

PUBLISHER = """
import sys
from pm_db import publishing
from pm_db.db import open_database
from tests.test_usd_support import write_data_layer

db = open_database()
for part in sys.argv[2:]:
    request = {"scene_id": int(sys.argv[1]), "asset_name": "PinchIn", "part_name": part}
    publishing.publish(db, None, request, lambda path, part=part: write_data_layer(path, part))
"""

PROCESSES = 4
PARTS_EACH = 3


@pytest.mark.slow
def test_concurrent_publishers_of_one_asset_all_end_up_in_its_layer(studio: Studio) -> None:
    scene = save(studio)
    names = [[f"part{p}x{n}" for n in range(PARTS_EACH)] for p in range(PROCESSES)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(scene.id), *chunk],
            env=process_env(studio.db),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for chunk in names
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err

    last = publish(studio, "zz_last", scene=scene)
    expected = {name: (1, 1) for chunk in names for name in chunk} | {"zz_last": (1, 1)}
    assert composed_parts(last.asset_usd_path) == expected
    assert layers.rebuild(studio.db).layers_written == 0


def test_a_second_writer_waits_for_the_asset_lock(studio: Studio) -> None:
    done = publish(studio, "particles01")
    key = studio.db.read(lambda session: key_of_part(session, done.part_id))
    assert key == AssetKey(key.stream_id, "PinchIn")
    holding = threading.Event()
    release = threading.Event()

    def hold(session: Session) -> None:
        layers.lock(session, key)
        asset_state(session, key)
        holding.set()
        release.wait(60)

    holder = threading.Thread(target=lambda: studio.db.write(hold))
    holder.start()
    assert holding.wait(60)
    results: list[object] = []
    writer = threading.Thread(target=lambda: results.append(layers.sync_asset(studio.db, key)))
    writer.start()

    writer.join(1.0)
    blocked = writer.is_alive()
    release.set()
    holder.join(60)
    writer.join(60)

    assert blocked, "a second writer got past the asset's layer lock"
    assert len(results) == 1 and results[0] is not None
    assert composed_parts(done.asset_usd_path) == {"particles01": (1, 1)}
