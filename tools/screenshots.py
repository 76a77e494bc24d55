"""Pictures of the asset browser and the launcher for the documentation, on a demo show.

`python tools/screenshots.py [--out docs/img] [--root /tmp/pm-screenshots]` builds a small
but realistic show on SQLite under `--root` (two projects, shots and assets, four artists,
tasks in every state; USD parts published through the real publish path with many
versions, a deprecated, a failed and a pending one, a pin and a data layer deleted from
disk), opens both windows offscreen in the stand-alone dark theme, and saves
`asset_browser.png` and `launcher.png`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _layer(path: str, prim: str) -> None:
    from pxr import Sdf

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    layer = Sdf.Layer.CreateNew(path)
    Sdf.CreatePrimInLayer(layer, f"/{prim}").specifier = Sdf.SpecifierDef
    layer.Save()


class Show:
    """Builds the demo show through the services and the backend, as artists would."""

    def __init__(self, root: Path) -> None:
        from pm_db import migrate
        from pm_db.backend import LocalBackend
        from pm_db.db import Database

        self.root = root
        self.db = Database(f"sqlite:///{root / 'pm.sqlite'}")
        migrate.upgrade(self.db)
        self.backend = LocalBackend(db=self.db)

    def create(self, kind: str, **values: Any) -> Any:
        from pm_db.services import entities

        return entities.create(self.db, kind, values)

    def save(self, task: int, artist: str, scene: str, up: bool = False) -> Any:
        return self.backend.save_scene(
            {"task_id": task, "artist": artist, "scene_name": scene, "version_up": up}
        )

    def publish(self, scene: Any, asset: str, part: str, status: str = "published") -> Any:

        metadata = {
            "frame_range": [1001, 1100],
            "houdini": "21.0.512",
            "rop": f"/stage/{part}_rop",
            "points": 1_240_000 + 7919 * scene.iteration,
        }
        reserved = self.backend.reserve_publish(
            {"scene_id": scene.id, "asset_name": asset, "part_name": part, "metadata": metadata}
        )
        if status == "pending":
            return reserved
        if status == "failed":
            return self.backend.fail_publish(reserved.id, "USD ROP: cook error in sopimport1")
        _layer(reserved.item_usd_path, part)
        done = self.backend.complete_publish(reserved.id)
        if status == "deprecated":
            return self.backend.deprecate_publish(done.id)
        return done

    def build(self) -> dict[str, Any]:
        """The show; returns the ids the pictures open."""
        fx3x = self.create(
            "project",
            code="FX3X",
            name="Effects show",
            root_linux=str(self.root / "show" / "FX3X"),
            root_windows="P:/FX3X",
        )
        abc = self.create(
            "project", code="ABC1", name="Car commercial", root_linux=str(self.root / "show/ABC1")
        )
        artists = {
            login: self.create("artist", login=login, name=name)
            for login, name in (
                ("jdoe", "Jane Doe"),
                ("mlee", "Min Lee"),
                ("rkhan", "Ravi Khan"),
                ("asato", "Aiko Sato"),
            )
        }
        shots: dict[str, Any] = {}
        for project, sequence, codes in (
            (fx3x, "SQ010", ("SH010", "SH020", "SH030")),
            (fx3x, "SQ020", ("SH010", "SH040")),
            (abc, "SQ100", ("SH100",)),
        ):
            seq = self.create("sequence", project_id=project.id, code=sequence)
            for code in codes:
                shots[f"{project.code}/{sequence}/{code}"] = self.create(
                    "shot", sequence_id=seq.id, code=code, frame_start=1001, frame_end=1100
                )
        assets = {
            code: self.create("asset", project_id=fx3x.id, code=code, asset_type=kind)
            for code, kind in (("Hero", "char"), ("Rock", "prop"), ("Forest", "env"))
        }
        car = self.create("asset", project_id=abc.id, code="Car", asset_type="vehicle")

        def task(target: Any, kind: str, step: str, artist: str, status: str) -> Any:
            return self.create(
                "task",
                target_type=kind,
                target_id=target.id,
                step=step,
                artist_id=artists[artist].id,
                status=status,
            )

        pinch = task(shots["FX3X/SQ010/SH010"], "shot", "fx", "jdoe", "wip")
        splash = task(shots["FX3X/SQ010/SH020"], "shot", "fx", "mlee", "review")
        task(shots["FX3X/SQ010/SH030"], "shot", "fx", "jdoe", "todo")
        task(shots["FX3X/SQ020/SH040"], "shot", "fx", "jdoe", "approved")
        task(shots["ABC1/SQ100/SH100"], "shot", "fx", "jdoe", "wip")
        rock = task(assets["Rock"], "asset", "lookdev", "rkhan", "done")
        task(assets["Hero"], "asset", "fx", "jdoe", "review")
        task(car, "asset", "fx", "asato", "wip")
        task(assets["Forest"], "asset", "layout", "asato", "todo")

        # PinchIn: twelve saves over two versions; every part published along the way.
        history = []
        for n in range(12):
            scene = self.save(pinch.id, "jdoe", "PinchIn", up=n == 6)
            history.append(scene)
            statuses = {3: "deprecated", 9: "failed", 11: "pending"}
            self.publish(scene, "PinchIn", "particles01", statuses.get(n, "published"))
            if n % 3 == 0:
                self.publish(scene, "PinchIn", "debris01")
            if n in (4, 8):
                self.publish(scene, "PinchIn", "smoke01")
        self.publish(history[10], "PinchIn", "sparks01")
        debris = self.backend.list_publishes(asset_name="PinchIn", part_name="debris01")
        oldest = min(debris, key=lambda p: (p.version, p.iteration))
        self.backend.pin_part({"part": oldest.part_id, "publish": oldest.id, "artist": "jdoe"})
        gone = next(
            p for p in self.backend.list_publishes(part_name="particles01") if p.iteration == 2
        )
        Path(gone.item_usd_path).unlink()
        for _ in range(4):
            scene = self.save(splash.id, "mlee", "Splash")
            self.publish(scene, "Splash", "water01")
            self.publish(scene, "Splash", "foam01")
        scene = self.save(rock.id, "rkhan", "RockLook")
        self.publish(scene, "Rock", "moss01")
        latest = next(
            p for p in self.backend.list_publishes(part_name="particles01") if p.is_latest
        )
        return {"project": fx3x.id, "pinch": pinch.id, "latest": latest.id}


def _settle(app: Any, done: Any) -> None:
    deadline = time.monotonic() + 60
    while not done():
        app.processEvents()
        time.sleep(0.005)
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not settle")
    for _ in range(20):
        app.processEvents()


def browser_picture(show: Show, ids: dict[str, Any], out: Path) -> None:
    from pm_houdini.browser import AssetBrowser
    from pm_houdini.qt import application

    from pm_db.backend import LocalBackend

    app = application()
    browser = AssetBrowser(lambda: LocalBackend(db=show.db))
    browser.resize(1480, 760)
    browser.show()
    _settle(app, browser.is_idle)
    parent = browser.model.root
    for name in ("FX3X", "SQ010", "SH010", "PinchIn", "particles01"):
        parent = next(child for child in parent.children if child.cells[0] == name)
        browser.expand_key(parent.key)
        _settle(app, browser.is_idle)
    node = browser.model.node_for_key(f"publish:{ids['latest']}")
    if node is None:
        raise RuntimeError("the latest particles01 version did not load")
    browser.select(node)
    browser.splitter.setSizes([860, 620])
    _settle(app, browser.is_idle)
    browser.grab().save(str(out / "asset_browser.png"))
    browser.shutdown()


def launcher_picture(show: Show, out: Path) -> None:
    from pm_houdini.launcher import LauncherWindow
    from pm_houdini.qt import application

    from pm_db.backend import LocalBackend

    app = application()
    houdini = show.root / "hfs21.0" / "bin" / "houdini"
    houdini.parent.mkdir(parents=True, exist_ok=True)
    houdini.write_text(f"#!{sys.executable}\n")
    houdini.chmod(0o755)
    env = {
        **os.environ,
        "PM_ARTIST": "jdoe",
        "PM_DB_URL": show.db.url,
        "PM_DCC_HOUDINI": str(houdini),
        "PM_HOME": str(show.root),
    }
    window = LauncherWindow(lambda: LocalBackend(db=show.db), env=env)
    window.resize(980, 470)
    window.show()
    _settle(app, lambda: not window.loader.busy)
    window.view.selectRow(4)
    window.launch()
    _settle(app, lambda: not window.loader.busy)
    window.grab().save(str(out / "launcher.png"))
    window.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs/img", type=Path)
    parser.add_argument("--root", default="/tmp/pm-screenshots", type=Path)
    args = parser.parse_args()
    shutil.rmtree(args.root, ignore_errors=True)
    args.root.mkdir(parents=True)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["PM_PLATFORM"] = "linux"
    from pm_houdini.browser.style import apply_theme
    from pm_houdini.qt import application

    apply_theme(application())
    show = Show(args.root)
    ids = show.build()
    browser_picture(show, ids, args.out)
    launcher_picture(show, args.out)
    print(f"saved {args.out / 'asset_browser.png'} and {args.out / 'launcher.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
