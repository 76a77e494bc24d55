"""Houdini on a machine without database credentials: with PM_API_URL set, the same shelf
and HDA tools save and publish through the REST service (a real server on loopback),
and pm_houdini cannot tell the difference."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

# The fake hou must be on sys.path (support does it) before pm_houdini imports hou.
from tests.fake_hou import support

# isort: split
from pm_houdini import context as pm_context
from pm_houdini import shelf

from pm_db.remote import RemoteBackend
from pm_db.services import publish_reads, scenes
from tests.test_api_support import live_server, token_for

houdini = support.houdini
launched = support.launched


def test_save_and_publish_through_the_rest_service(
    launched: Any, houdini: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_for(launched.db, launched.artist)
    session = houdini._reset(ui=True)
    with live_server(launched.db) as url:
        monkeypatch.setenv("PM_API_URL", url)
        monkeypatch.setenv("PM_API_TOKEN", token)
        monkeypatch.setenv("PM_DB_URL", "sqlite:////nonexistent/not-used.sqlite")
        assert isinstance(pm_context.backend(), RemoteBackend)

        session.answers = [(0, "PinchIn")]
        first = shelf.save()
        assert first is not None and Path(first.path).name == "PinchIn_v001_i001.hip"
        stage = houdini.node("/stage")
        source = stage.createNode("sphere", "source")
        node = stage.createNode("pm::publish_part::1.0", "particles01")
        node.setInput(0, source)
        node.parm("asset").set("PinchIn")
        node.parm("publish").pressButton()

    assert "published" in session.messages[-1]["text"], session.messages[-1]
    [published] = publish_reads.list_publishes(launched.db)
    assert (published.part_name, published.version, published.iteration) == ("particles01", 1, 2)
    assert published.status == "published" and published.is_latest
    assert Path(published.item_usd_path).is_file()
    assert [s.iteration for s in scenes.list_scenes(launched.db)] == [2, 1]
