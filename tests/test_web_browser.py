"""The web view in a real browser: Debian's Chromium, headless, driven by Playwright, on
SQLite and PostgreSQL. A supervisor signs in, browses the tree down to a part, searches,
filters, and sees a publish made meanwhile appear in the activity page without a reload;
no page asks anything of another origin; a part named like a script shows as text.

With PM_WEB_SCREENSHOTS set to a folder, the tour also saves a screenshot of each page
there (docs/img holds the ones docs/web.md shows).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import text

from pm_db.services import parts
from tests.conftest import IN_CI, Studio
from tests.test_api_support import live_server, token_for
from tests.test_browser_support import publish, save, shot_history

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long the activity page may take to show a new publish: two polls and some slack.
LIVE_TIMEOUT_MS = 10_000
SHOTS = os.environ.get("PM_WEB_SCREENSHOTS")

if not Path(CHROMIUM).exists():
    message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def show(studio: Studio) -> Studio:
    shot_history(studio.db, studio.shot_task_id, iterations=3)
    rock = save(studio.db, studio.asset_task_id, scene="RockFx")
    publish(studio.db, rock.id, "Rock", "moss", metadata={"note": "mossy rock"})
    failed = save(studio.db, studio.shot_task_id)
    publish(studio.db, failed.id, "PinchIn", "smoke01", status="failed")
    parts.pin_part(studio.db, {"part": "PinchIn/debris01", "version": 1, "iteration": 2})
    return studio


@pytest.fixture
def site(show: Studio) -> Iterator[str]:
    with live_server(show.db) as base:
        yield base


class Visit:
    """A browser tab on the site that records every URL it asks for."""

    def __init__(self, chromium: Any, base: str) -> None:
        self.base = base
        self.context = chromium.new_context(base_url=base, viewport={"width": 1280, "height": 800})
        self.requested: list[str] = []
        self.context.on("request", lambda request: self.requested.append(request.url))
        self.page = self.context.new_page()
        self.page.set_default_timeout(LIVE_TIMEOUT_MS)

    def sign_in(self, token: str) -> None:
        self.page.goto("/")
        assert "/login" in self.page.url
        self.shot("login")
        self.page.fill("#token", token)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.base}/")

    def shot(self, name: str, full_page: bool = True) -> None:
        if SHOTS:
            path = str(Path(SHOTS) / f"web_{name}.png")
            self.page.screenshot(path=path, full_page=full_page)

    def foreign(self) -> list[str]:
        return [
            url
            for url in self.requested
            if not (url.startswith(self.base + "/") or url.startswith("data:"))
        ]


@pytest.fixture
def visit(chromium: Any, site: str) -> Iterator[Visit]:
    tab = Visit(chromium, site)
    yield tab
    tab.context.close()


def test_sign_in_browse_to_a_part_search_and_filter(visit: Visit, show: Studio) -> None:
    page = visit.page
    visit.sign_in(token_for(show.db, "jdoe"))
    visit.shot("home")
    page.click("a.card:has-text('FX3X')")
    page.wait_for_selector("h1:has-text('FX3X')")
    visit.shot("project")
    page.click("a:text-is('SQ010')")
    page.click("a:text-is('SH010')")
    page.wait_for_selector("h1:has-text('SH010')")
    visit.shot("shot")
    page.click("a:text-is('PinchIn')")
    page.wait_for_selector("h2:has-text('Parts (3)')")
    row = page.locator("tr", has=page.locator("a:text-is('debris01')"))
    assert "pinned" in row.inner_text() and "v001 i002" in row.inner_text()
    visit.shot("usd_asset")
    page.click("a:text-is('particles01')")
    page.wait_for_selector("h1:has-text('particles01')")
    versions = page.locator("table.versions tbody tr")
    assert versions.count() == 3
    assert "v001 i003" in versions.first.inner_text()
    versions.first.locator("summary").click()
    data = versions.first.locator("input[aria-label='Data layer path']")
    assert data.input_value().endswith("particles01_v001_i003.usd")
    visit.shot("part")
    versions.first.locator("a").first.click()
    page.wait_for_selector("h2:has-text('Metadata')")
    assert "1001" in page.inner_text("pre.meta")
    visit.shot("publish")

    page.click("nav a:text-is('Search')")
    page.fill("input[name=q]", "debri")
    page.click("form.filters button")
    page.wait_for_selector("table.matches")
    assert "debris01" in page.inner_text("table.matches")
    visit.shot("search")
    page.goto("/search")
    page.select_option("select[name=status]", "failed")
    page.click("form.filters button")
    page.wait_for_url("**status=failed**")
    table = page.inner_text("main table")
    assert "smoke01" in table and "particles01" not in table

    page.goto("/artist/jdoe")
    assert "Jane Doe" in page.inner_text("h1")
    visit.shot("artist")
    page.click(f"a[href='/task/{show.shot_task_id}']")
    page.wait_for_selector("h1:has-text('task')")
    assert "SQ010/SH010" in page.inner_text("dl.facts")
    visit.shot("task")
    page.goto("/browse/part:999")
    assert "Not found" in page.inner_text("h1")
    visit.shot("not_found")


def test_a_publish_made_meanwhile_appears_in_activity(visit: Visit, show: Studio) -> None:
    page = visit.page
    visit.sign_in(token_for(show.db, "jdoe"))
    page.goto("/activity")
    page.wait_for_selector("tr[data-event]")
    page.evaluate("window.pmStillHere = true")
    visit.shot("activity")
    scene = save(show.db, show.shot_task_id)
    made = publish(show.db, scene.id, "PinchIn", "sparks01")
    fresh = page.locator(f"tbody#events a[href='/publish/{made.id}']").first
    fresh.wait_for(state="visible", timeout=LIVE_TIMEOUT_MS)
    assert page.evaluate("window.pmStillHere") is True  # no reload
    first = page.locator("tbody#events tr[data-event]").first
    assert int(first.get_attribute("data-event") or 0) >= made.id
    page.goto("/activity?kind=scene.")
    kinds = page.locator("tbody#events tr[data-event] code").all_inner_texts()
    assert kinds and all(kind.startswith("scene.") for kind in kinds)
    page.goto("/activity")
    page.select_option("select[name=project]", "FX3X")
    page.click("form.filters button")
    page.wait_for_url("**project=FX3X**")
    kinds = page.locator("tbody#events tr[data-event] code").all_inner_texts()
    assert "publish.completed" in kinds and "web.signed_in" not in kinds


def test_no_page_asks_another_origin(chromium: Any, site: str, show: Studio) -> None:
    tab = Visit(chromium, site)
    # Cut off from the internet: anything for another origin fails.
    tab.context.route("**/*", _same_origin_only(site))
    try:
        tab.page.goto("/docs")
        tab.page.wait_for_selector(".swagger-ui .opblock", timeout=LIVE_TIMEOUT_MS)
        assert "pm" in tab.page.inner_text(".swagger-ui .info")
        tab.shot("api_docs", full_page=False)
        tab.sign_in(token_for(show.db, "jdoe"))
        [part] = [p for p in parts.list_parts(show.db, "PinchIn") if p.part_name == "debris01"]
        for url in (
            "/",
            f"/browse/project:{show.project_id}",
            f"/browse/shot:{show.shot_id}",
            f"/browse/part:{part.id}",
            f"/publish/{part.resolved.id if part.resolved else 1}",
            "/search?q=Pinch",
            "/activity",
            "/artist/jdoe",
            f"/task/{show.shot_task_id}",
            "/nowhere",
        ):
            tab.page.goto(url)
            tab.page.wait_for_load_state("load")
        assert tab.foreign() == []
    finally:
        tab.context.close()


def _same_origin_only(base: str) -> Any:
    def handle(route: Any) -> None:
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            route.abort()

    return handle


def test_a_part_named_like_a_script_shows_as_text(visit: Visit, show: Studio) -> None:
    scene = save(show.db, show.shot_task_id)
    made = publish(show.db, scene.id, "PinchIn", "evil01")
    evil = "<script>window.pwned=1</script>"
    with show.db.engine.begin() as conn:
        rename = {"n": evil, "part": made.part_id, "publish": made.id}
        conn.execute(text("UPDATE parts SET name = :n WHERE id = :part"), rename)
        conn.execute(text("UPDATE publishes SET part_name = :n WHERE id = :publish"), rename)
    visit.sign_in(token_for(show.db, "jdoe"))
    for url in (f"/browse/part:{made.part_id}", f"/publish/{made.id}", "/search?q=script"):
        visit.page.goto(url)
        assert evil in visit.page.inner_text("main")
        assert visit.page.evaluate("window.pwned") is None


def test_an_unexpected_error_shows_a_page_with_what_to_do(
    visit: Visit, show: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail 7f3a")

    visit.sign_in(token_for(show.db, "jdoe"))
    monkeypatch.setattr("pm_db.web.queries.scenes", broken)
    response = visit.page.goto("/artist/jdoe")
    assert response is not None and response.status == 500
    assert "Something went wrong" in visit.page.inner_text("h1")
    assert "try again" in visit.page.inner_text("main")
    assert "7f3a" not in visit.page.content()
    visit.shot("error")
    visit.page.click("main a:text-is('Back to the show')")
    visit.page.wait_for_url(f"{visit.base}/")
