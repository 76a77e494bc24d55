"""The web view over HTTP, on SQLite and PostgreSQL: sign-in and its session cookie, the
tree down to a part's versions, search and filters, activity, artist and task pages, the
offline API docs page, and bad input answered by a clear page with the right status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DataError

from pm_db.api.app import create_app
from pm_db.services import tokens
from tests.conftest import Studio
from tests.test_api_support import live_server, token_for
from tests.test_browser_support import publish, save, shot_history

STATIC = Path(__file__).resolve().parent.parent / "pm_db" / "web" / "static"


@pytest.fixture
def show(studio: Studio) -> Studio:
    shot_history(studio.db, studio.shot_task_id, iterations=2)
    return studio


@pytest.fixture
def client(show: Studio) -> Iterator[TestClient]:
    with TestClient(create_app(show.db), raise_server_exceptions=False) as test_client:
        yield test_client


def parts_of(show: Studio) -> list[Any]:
    from pm_db.services import parts

    return parts.list_parts(show.db, "PinchIn")


def sign_in(client: TestClient, token: str) -> Any:
    return client.post("/login", data={"token": token, "next": "/"}, follow_redirects=False)


@pytest.fixture
def browser(client: TestClient, show: Studio) -> TestClient:
    """The client, signed in as jdoe."""
    assert sign_in(client, token_for(show.db, "jdoe")).status_code == 303
    return client


def page(client: TestClient, url: str, status: int = 200) -> str:
    response = client.get(url, follow_redirects=False)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text
    return response.text


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


# Sign-in ----------------------------------------------------------------------------


def test_pages_send_a_visitor_without_session_to_the_sign_in_form(client: TestClient) -> None:
    response = client.get("/search?q=Pinch", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsearch%3Fq%3DPinch"
    assert 'name="token"' in page(client, "/login")


def test_a_good_token_opens_an_http_only_same_site_session(
    client: TestClient, show: Studio
) -> None:
    response = sign_in(client, token_for(show.db, "jdoe"))
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "pm_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    assert "jdoe" in page(client, "/")


def test_the_cookie_is_secure_over_https(show: Studio) -> None:
    app = create_app(show.db)
    with TestClient(app, base_url="https://pm.studio.lan") as client:
        response = sign_in(client, token_for(show.db, "jdoe"))
    assert "; Secure" in response.headers["set-cookie"]


def test_the_cookie_is_secure_behind_a_local_tls_proxy(show: Studio) -> None:
    """uvicorn (what `pm serve` runs) trusts X-Forwarded-Proto from 127.0.0.1 only."""
    token = token_for(show.db, "jdoe")
    with live_server(show.db) as base:
        proxied = requests.post(
            f"{base}/login",
            data={"token": token},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
            timeout=10,
        )
        direct = requests.post(
            f"{base}/login", data={"token": token}, allow_redirects=False, timeout=10
        )
    assert "Secure" in proxied.headers["set-cookie"]
    assert "Secure" not in direct.headers["set-cookie"]


@pytest.mark.parametrize("token", ["", "not-a-token", "pm_unknownunknownunknownunknownunknown0000"])
def test_a_bad_token_is_refused_with_a_clear_page(client: TestClient, token: str) -> None:
    response = sign_in(client, token)
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert 'role="alert"' in response.text and "Traceback" not in response.text


def test_sign_out_ends_the_session_even_for_a_copy_of_the_cookie(browser: TestClient) -> None:
    cookie = browser.cookies["pm_session"]
    assert browser.post("/logout", follow_redirects=False).status_code == 303
    browser.cookies.set("pm_session", cookie)
    response = browser.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_revoking_the_token_ends_its_sessions(client: TestClient, show: Studio) -> None:
    secret = token_for(show.db, "jdoe")
    sign_in(client, secret)
    assert page(client, "/")
    [token] = [t for t in tokens.list_tokens(show.db, "jdoe") if not t.revoked][-1:]
    tokens.revoke_token(show.db, token.id)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client, secret).status_code == 401


def test_a_forged_or_malformed_session_cookie_signs_nobody_in(
    client: TestClient, show: Studio
) -> None:
    sign_in(client, token_for(show.db, "jdoe"))
    ident = client.cookies["pm_session"].split(".")[0]
    for forged in (f"{ident}.forged", "garbage", "1.", ".x"):
        client.cookies.set("pm_session", forged)
        assert client.get("/", follow_redirects=False).status_code == 303


def test_the_next_page_after_sign_in_stays_on_this_site(client: TestClient, show: Studio) -> None:
    token = token_for(show.db, "jdoe")
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        response = client.post(
            "/login", data={"token": token, "next": elsewhere}, follow_redirects=False
        )
        assert response.headers["location"] == "/"


# The tree ---------------------------------------------------------------------------


def test_browse_from_the_show_down_to_a_version(browser: TestClient, show: Studio) -> None:
    home = page(browser, "/")
    assert "FX3X" in home and "Effects test show" in home
    project = page(browser, f"/browse/project:{show.project_id}")
    assert "SQ010" in project and "Rock" in project
    sequence = page(browser, f"/browse/sequence:{show.sequence_id}")
    assert "SH010" in sequence and "1001-1100" in sequence
    shot = page(browser, f"/browse/shot:{show.shot_id}")
    [usd] = [link for link in links(shot) if link.startswith("/browse/usd:")]
    usd_page = page(browser, usd)
    assert "particles01" in usd_page and "debris01" in usd_page
    assert "v001 i002" in usd_page and "latest" in usd_page
    assert "PinchIn.usd" in usd_page
    [part] = re.findall(r'href="(/browse/part:\d+)">particles01<', usd_page)
    part_page = page(browser, part)
    assert "v001 i002" in part_page and "v001 i001" in part_page
    assert "particles01/particles01.usd" in part_page
    assert "PinchIn v001 i002" in part_page  # the source scene
    assert "frames" in part_page and "1001" in part_page  # metadata
    assert "missing file" not in part_page


def test_a_part_pages_its_versions_by_keyset(browser: TestClient, show: Studio) -> None:
    shot_history(show.db, show.shot_task_id, iterations=60)  # 62 versions of each part
    [particles] = [p for p in parts_of(show) if p.part_name == "particles01"]

    def numbers(html: str) -> list[str]:
        table = html.split('<table class="versions">')[1]
        return re.findall(r'href="/publish/\d+">(v\d{3} i\d{3})<', table)

    first = page(browser, f"/browse/part:{particles.id}")
    assert numbers(first)[:2] == ["v001 i062", "v001 i061"] and len(numbers(first)) == 50
    assert "after=" not in first
    older = re.search(r'href="\?(before=\d+)"', first)
    assert older is not None
    second = page(browser, f"/browse/part:{particles.id}?{older.group(1)}")
    assert numbers(second) == [f"v001 i{n:03d}" for n in range(12, 0, -1)]
    assert "before=" not in second  # nothing older
    newer = re.search(r'href="\?(after=\d+)"', second)
    assert newer is not None
    back = page(browser, f"/browse/part:{particles.id}?{newer.group(1)}")
    assert numbers(back) == [f"v001 i{n:03d}" for n in range(62, 12, -1)]
    other = next(p for p in parts_of(show) if p.part_name != "particles01")
    assert page(browser, f"/browse/part:{other.id}?{older.group(1)}", 404)


def test_a_publish_page_shows_its_paths_and_metadata(browser: TestClient, show: Studio) -> None:
    scene = save(show.db, show.shot_task_id)
    made = publish(show.db, scene.id, "PinchIn", "smoke01", metadata={"note": "wide"})
    html = page(browser, f"/publish/{made.id}")
    for expected in ("smoke01_v001_i003.usd", "PinchIn_v001_i003.hip", "PinchIn.usd", "wide"):
        assert expected in html
    assert 'class="copy"' in html


def test_a_deleted_data_file_is_flagged_missing(browser: TestClient, show: Studio) -> None:
    scene = save(show.db, show.shot_task_id)
    made = publish(show.db, scene.id, "PinchIn", "smoke01")
    Path(made.item_usd_path).unlink()
    assert "missing file" in page(browser, f"/publish/{made.id}")
    assert "missing file" in page(browser, f"/browse/part:{made.part_id}")
    usd = [link for link in links(page(browser, f"/browse/shot:{show.shot_id}")) if "usd:" in link]
    assert "missing file" in page(browser, usd[0])


def test_pinned_and_withdrawn_parts_are_marked(browser: TestClient, show: Studio) -> None:
    from pm_db.services import parts

    parts.pin_part(show.db, {"part": "PinchIn/particles01", "version": 1, "iteration": 1})
    parts.withdraw_part(show.db, {"part": "PinchIn/debris01"})
    shot = page(browser, f"/browse/shot:{show.shot_id}")
    usd = page(browser, next(link for link in links(shot) if link.startswith("/browse/usd:")))
    assert "pinned" in usd and "withdrawn" in usd
    [particles] = [p for p in parts.list_parts(show.db, "PinchIn") if p.part_name == "particles01"]
    part_page = page(browser, f"/browse/part:{particles.id}")
    assert "pinned" in part_page and "v001 i001" in part_page


def test_names_and_metadata_are_escaped(browser: TestClient, show: Studio) -> None:
    scene = save(show.db, show.shot_task_id)
    made = publish(show.db, scene.id, "PinchIn", "smoke01", metadata={"x": "<img src=x>"})
    evil = "<script>alert(1)</script>"
    # Names pass pm's rules on the way in; a record written by another tool may not.
    with show.db.engine.begin() as conn:
        rename = {"n": evil, "part": made.part_id, "publish": made.id}
        conn.execute(text("UPDATE parts SET name = :n WHERE id = :part"), rename)
        conn.execute(text("UPDATE publishes SET part_name = :n WHERE id = :publish"), rename)
        conn.execute(text("UPDATE projects SET name = :n"), {"n": evil})
    for url in (
        "/",
        f"/browse/part:{made.part_id}",
        f"/publish/{made.id}",
        "/search?q=script",
        "/activity",
        f"/task/{show.shot_task_id}",
    ):
        html = page(browser, url)
        assert "<script>alert" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page(browser, f"/publish/{made.id}")


def test_missing_things_answer_404_pages(browser: TestClient) -> None:
    for url in (
        "/browse/project:999",
        "/browse/part:999",
        "/browse/usd:999:Nope",
        "/publish/999",
        "/publish/abc",
        "/scene/999",
        "/task/999",
        "/artist/nobody",
        "/no/such/page",
    ):
        html = page(browser, url, 404)
        assert "Not found" in html and 'role="alert"' in html


def test_malformed_input_answers_a_422_page_naming_the_field(browser: TestClient) -> None:
    for url, field in (
        ("/browse/planet:1", "key"),
        ("/search?status=lost", "status"),
        ("/search?since=yesterday", "since"),
        ("/search?before=x", "before"),
        ("/activity?until=2026-13-40", "until"),
        ("/activity?since=2026-12-06&until=2026-12-01", "until"),
        ("/browse/part:1?before=x", "before"),
        ("/browse/part:1?before=1&after=2", "after"),
    ):
        html = page(browser, url, 422)
        assert f"<strong>{field}</strong>" in html


def test_the_api_keeps_its_json_errors(client: TestClient) -> None:
    response = client.get("/api/nothing/")
    assert response.status_code == 404 and response.json()["ok"] is False
    assert client.get("/api/events/").status_code == 401


def test_an_unexpected_error_answers_a_page_and_the_api_its_envelope(
    browser: TestClient,
    show: Studio,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail 7f3a")

    monkeypatch.setattr("pm_db.services.events.read_events", broken)
    token = token_for(show.db, "jdoe")
    html = page(browser, "/activity", 500)
    assert "Something went wrong" in html and "try again" in html and 'href="/"' in html
    assert "7f3a" not in html and "RuntimeError" not in html
    assert "jdoe" in html  # still the site's page, with who is signed in
    response = browser.get("/api/events/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json()["ok"] is False
    assert response.json()["error"]["code"] == "internal_error"
    assert "7f3a" not in response.text
    assert "internal detail 7f3a" in caplog.text  # the traceback went to the server log


def test_a_value_the_database_refuses_answers_a_page(
    browser: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise DataError("SELECT 1", {}, ValueError("integer out of range 7f3a"))

    monkeypatch.setattr("pm_db.services.events.read_events", refused)
    html = page(browser, "/activity", 422)
    assert "too long or malformed for the database" in html and "7f3a" not in html


# Search, activity, artists, tasks ---------------------------------------------------


def test_search_finds_names_and_filters_publishes(browser: TestClient, show: Studio) -> None:
    html = page(browser, "/search?q=debris")
    assert "debris01" in html and "particles01 " not in html
    failed_scene = save(show.db, show.shot_task_id)
    publish(show.db, failed_scene.id, "PinchIn", "smoke01", status="failed")
    failed = page(browser, "/search?status=failed")
    assert "smoke01" in failed and "debris01" not in failed
    assert "smoke01" not in page(browser, "/search?status=published")
    assert "debris01" in page(browser, "/search?project=FX3X&artist=jdoe")
    assert "No publishes" in page(browser, "/search?until=2000-01-01")
    assert page(browser, "/search?artist=nobody", 404)


def test_publish_lists_page_by_id(browser: TestClient, show: Studio) -> None:
    shot_history(show.db, show.shot_task_id, iterations=30)
    first = page(browser, "/search")
    older = re.search(r'href="\?(before=\d+)"', first)
    assert older is not None
    second = page(browser, f"/search?{older.group(1)}")
    ids = lambda html: set(re.findall(r'href="/publish/(\d+)"', html))  # noqa: E731
    assert ids(first) and ids(second) and not ids(first) & ids(second)


def test_activity_lists_events_newest_first_linking_to_their_subjects(
    browser: TestClient, show: Studio
) -> None:
    html = page(browser, "/activity")
    numbers = [int(n) for n in re.findall(r'data-event="(\d+)"', html)]
    assert numbers == sorted(numbers, reverse=True) and numbers
    assert "/publish/" in html and "publish.completed" in html
    assert 'hx-get="/activity/newer?after=' in html
    only = page(browser, "/activity?kind=scene.")
    assert "scene." in only and "publish.completed" not in only
    assert "web.signed_in" in html
    project = page(browser, "/activity?project=fx3x")
    assert "publish.completed" in project and "web.signed_in" not in project
    assert "<option selected>FX3X</option>" in project
    assert "<strong>project</strong>" in page(browser, "/activity?project=NOPE", 404)


def test_activity_poll_returns_only_newer_events(browser: TestClient, show: Studio) -> None:
    html = page(browser, "/activity")
    newest = max(int(n) for n in re.findall(r'data-event="(\d+)"', html))
    assert "data-event" not in page(browser, f"/activity/newer?after={newest}")
    scene = save(show.db, show.shot_task_id)
    made = publish(show.db, scene.id, "PinchIn", "smoke01")
    fresh = page(browser, f"/activity/newer?after={newest}")
    assert f'href="/publish/{made.id}"' in fresh
    assert f'after={newest}"' not in fresh  # the next poll starts after what it got


def test_artist_and_task_pages(browser: TestClient, show: Studio) -> None:
    artist = page(browser, "/artist/jdoe")
    assert "Jane Doe" in artist and "PinchIn" in artist and "particles01" in artist
    assert f"/task/{show.shot_task_id}" in artist
    task = page(browser, f"/task/{show.shot_task_id}")
    assert "SQ010/SH010" in task and "particles01" in task and "PinchIn" in task


def test_pages_carry_a_same_origin_content_security_policy(browser: TestClient) -> None:
    response = browser.get("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "content-security-policy" not in browser.get("/api/health/").headers


# Static files and the API docs page --------------------------------------------------


def test_the_api_docs_page_loads_swagger_from_pm_itself(client: TestClient) -> None:
    for url in ("/docs", "/api/docs"):
        html = page(client, url)
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and all(s.startswith("/") or s.startswith("data:") for s in sources)
    for asset in ("/static/swagger/swagger-ui-bundle.js", "/static/swagger/swagger-ui.css"):
        assert client.get(asset).status_code == 200


def test_vendored_files_carry_their_licences() -> None:
    assert "Zero-Clause BSD" in (STATIC / "htmx.min.js").read_text()[:300]
    assert "Apache License" in (STATIC / "swagger" / "LICENSE").read_text()


def test_templates_load_nothing_from_outside() -> None:
    templates = Path(STATIC.parent / "templates")
    for template in templates.glob("*.html"):
        body = template.read_text()
        assert not re.search(r'(?:src|href|action)="(?:https?:)?//', body), template


def test_search_lists_the_publishes_of_every_matching_part(
    browser: TestClient, show: Studio
) -> None:
    rock = save(show.db, show.asset_task_id, scene="RockFx")
    moss = publish(show.db, rock.id, "Rock", "moss")
    shot_history(show.db, show.shot_task_id, iterations=30)  # 60 newer publishes
    html = page(browser, "/search?q=moss")
    assert f'href="/publish/{moss.id}"' in html
    assert "particles01" not in html
