"""The backend over HTTP: the same calls as pm_db.backend.LocalBackend, answered by
`pm serve`. Selected by `get_backend()` when PM_API_URL is set (token: PM_API_TOKEN or
PM_API_TOKEN_FILE), so the Houdini tools and hython batches cannot tell the difference:
they get the same pydantic models back and the same pm_db.errors raised.

Retries: a request that never reached the service (connection refused, connect timeout)
is retried for every call; one that may have reached it (read timeout, connection reset,
HTTP 502/503/504) only for calls the service makes idempotent: reads, complete, fail,
deprecate, and reserve or publish carrying a `request_id`. A save is never repeated
blindly, because each save takes a new number.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

import pydantic
import requests
from pydantic import BaseModel

import pm_db
from pm_db import schemas
from pm_db.errors import ERRORS_BY_CODE, ConfigError, PmError, Unavailable, ValidationError

if TYPE_CHECKING:
    from pm_db.services.events import EventOut
    from pm_db.services.parts import PartOut
    from pm_db.usd.layers import RebuildReport
    from pm_db.views import BrowseNode, TaskRow

M = TypeVar("M", bound=BaseModel)

KINDS: dict[str, tuple[type[schemas.Out], str]] = {
    "project": (schemas.ProjectOut, "code"),
    "sequence": (schemas.SequenceOut, "code"),
    "shot": (schemas.ShotOut, "code"),
    "asset": (schemas.AssetOut, "code"),
    "artist": (schemas.ArtistOut, "login"),
    "task": (schemas.TaskOut, "name"),
}
PUBLISH_FILTERS = {
    "asset_name": "asset",
    "part_name": "part",
    "task_id": "task_id",
    "part_id": "part_id",
    "scene_id": "scene_id",
    "status": "status",
    "limit": "limit",
    "offset": "offset",
}
RETRY_STATUSES = (502, 503, 504)
MAX_BACKOFF_SECONDS = 5.0


def _base_url(url: str) -> str:
    """The service's root URL (`.../api` is accepted and dropped); raises ConfigError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"must be an http(s) URL, got {url!r}", field="PM_API_URL")
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _never_sent(exc: requests.RequestException) -> bool:
    """Whether a failed request certainly never reached the service."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return type(reason).__name__ in ("NewConnectionError", "NameResolutionError")


def _retry_after(response: requests.Response) -> float:
    """The seconds a 503's Retry-After asks for (0 if none or not a number of seconds)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0


def _outcome(idempotent: bool) -> str:
    """What a caller may do after a write whose answer never came."""
    if idempotent:
        return "; the change may have been made: re-running the same request is safe"
    return "; the change may or may not have been made: check before running it again"


def _payload(data: object) -> Any:
    """`data` (a pydantic model or plain data) as JSON-ready data; raises ValidationError."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"is not plain JSON data: {exc}", field="payload") from None
    return data


class RemoteBackend:
    """The backend that asks a pm REST service (`pm serve`)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout: tuple[float, float] = (3.05, 30.0),
        retry_window: float = 30.0,
        backoff: float = 0.25,
    ) -> None:
        self.url = _base_url(url)
        self.timeout = timeout
        self.retry_window = retry_window
        self.backoff = backoff
        self._headers = {
            "Accept": "application/json",
            "User-Agent": f"pm/{pm_db.__version__} ({socket.gethostname()})",
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        # requests.Session is not documented as thread-safe; the Qt panels call from
        # worker threads, so each thread keeps its own connection pool.
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"RemoteBackend({self.url!r})"

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            self._local.session = session
        return session

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: object = None,
        idempotent: bool = False,
    ) -> Any:
        """The `data` of the service's answer to one request. A request that is safe to
        repeat (`idempotent`: a read, or a write carrying a request id), or one that never
        reached the service, is tried again while the service or its database cannot be
        reached (502/503/504, honouring Retry-After), for `retry_window` seconds. Raises
        the pm error the service reported, or Unavailable."""
        url = self.url + path
        content = None if body is None else json.dumps(_payload(body)).encode("utf-8")
        headers = {"Content-Type": "application/json"} if content is not None else None
        deadline = time.monotonic() + self.retry_window
        for attempt in itertools.count():
            wait = min(MAX_BACKOFF_SECONDS, self.backoff * 2**attempt) * random.uniform(0.5, 1.5)
            try:
                response = self._session().request(
                    method, url, params=params, data=content, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                retry = idempotent or _never_sent(exc)
                if not retry or time.monotonic() + wait > deadline:
                    raise self._unreachable(exc, idempotent) from None
            else:
                if response.status_code not in RETRY_STATUSES or not idempotent:
                    return self._answer(response, idempotent)
                wait = max(wait, _retry_after(response))
                if time.monotonic() + wait > deadline:
                    return self._answer(response, idempotent)
            time.sleep(wait)
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _unreachable(self, exc: requests.RequestException, idempotent: bool) -> Unavailable:
        sent = not _never_sent(exc)
        if isinstance(exc, requests.Timeout) and sent:
            message = f"the pm service at {self.url} did not answer within {self.timeout[1]:g} s"
        elif sent:
            message = f"the connection to the pm service at {self.url} broke ({type(exc).__name__})"
        else:
            message = (
                f"cannot reach the pm service at {self.url} (connection refused or timed out"
                f"{self._for_how_long()}); is `pm serve` running?"
            )
        if sent:
            message += _outcome(idempotent)
        return Unavailable(message, field="PM_API_URL")

    def _for_how_long(self) -> str:
        return f", tried for {self.retry_window:g} s" if self.retry_window else ""

    def _read(self, model: type[M], data: Any) -> M:
        """`data` of an answer as `model`; raises PmError if it is not one (a client and a
        service of different pm versions)."""
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            raise PmError(
                f"the pm service at {self.url} answered a {model.__name__} this pm cannot read "
                f"({exc.errors()[0]['msg']}); are the client and the service the same version?",
                field="PM_API_URL",
            ) from None

    def _answer(self, response: requests.Response, idempotent: bool = True) -> Any:
        try:
            envelope = response.json()
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or "ok" not in envelope:
            error: type[PmError] = Unavailable if response.status_code >= 500 else PmError
            raise error(
                f"{self.url} answered HTTP {response.status_code} without pm's envelope; "
                "is PM_API_URL a pm service?",
                field="PM_API_URL",
            )
        if envelope["ok"]:
            return envelope.get("data")
        detail = envelope.get("error") or {}
        cls = ERRORS_BY_CODE.get(str(detail.get("code")), PmError)
        message = str(detail.get("message", "the service refused the request"))
        if cls is Unavailable:
            message += self._for_how_long() + _outcome(idempotent)
        raise cls(message, detail.get("field"))

    # Saves -----------------------------------------------------------------------------

    def save_scene(self, data: object) -> schemas.SceneOut:
        found = self.call("POST", "/api/scenes/", body=data, idempotent=_keyed(data))
        return self._read(schemas.SceneOut, found)

    def get_scene(self, scene_id: int) -> schemas.SceneOut:
        found = self.call("GET", f"/api/scenes/{_segment(scene_id)}/", idempotent=True)
        return self._read(schemas.SceneOut, found)

    def find_scene_by_path(self, path: str) -> schemas.SceneOut:
        found = self.call("GET", "/api/scenes/find/", params={"path": path}, idempotent=True)
        return self._read(schemas.SceneOut, found)

    def list_scenes(self, **filters: Any) -> list[schemas.SceneOut]:
        """Saved scenes, newest first: task_id, artist, name, limit as `pm scene list`."""
        found = self.call("GET", "/api/scenes/", params=_given(**filters), idempotent=True)
        return [self._read(schemas.SceneOut, item) for item in found]

    def discard_scene(self, scene_id: int, reason: str) -> schemas.SceneOut:
        path = f"/api/scenes/{_segment(scene_id)}/discard/"
        return self._read(schemas.SceneOut, self.call("POST", path, body={"reason": reason}))

    # Publishes -------------------------------------------------------------------------

    def _publish(
        self, method: str, path: str, body: object = None, idem: bool = True
    ) -> schemas.PublishOut:
        found = self.call(method, path, body=body, idempotent=idem)
        return self._read(schemas.PublishOut, found)

    def reserve_publish(self, data: object) -> schemas.PublishOut:
        return self._publish("POST", "/api/publishes/reserve/", data, idem=_keyed(data))

    def complete_publish(self, ref: int | str) -> schemas.PublishOut:
        return self._publish("POST", f"/api/publishes/{_segment(ref)}/complete/")

    def fail_publish(self, ref: int | str, reason: str) -> schemas.PublishOut:
        path = f"/api/publishes/{_segment(ref)}/fail/"
        return self._publish("POST", path, {"reason": reason})

    def publish_part(self, data: object) -> schemas.PublishOut:
        return self._publish("POST", "/api/publishes/", data, idem=_keyed(data))

    def deprecate_publish(self, ref: int | str) -> schemas.PublishOut:
        return self._publish("POST", f"/api/publishes/{_segment(ref)}/deprecate/")

    def get_publish(self, ref: int | str) -> schemas.PublishOut:
        return self._publish("GET", f"/api/publishes/{_segment(ref)}/")

    def latest_per_part(
        self, asset_name: str, project_id: int | None = None, task_id: int | None = None
    ) -> list[schemas.PublishOut]:
        params = {"asset": asset_name, "latest_per_part": 1}
        params |= _given(project_id=project_id, task_id=task_id)
        return self._publishes(params)

    def list_publishes(self, **filters: Any) -> list[schemas.PublishOut]:
        unknown = set(filters) - set(PUBLISH_FILTERS)
        if unknown:
            raise TypeError(f"list_publishes() got an unexpected keyword argument {min(unknown)!r}")
        return self._publishes(_given(**{PUBLISH_FILTERS[k]: v for k, v in filters.items()}))

    def _publishes(self, params: dict[str, Any]) -> list[schemas.PublishOut]:
        found = self.call("GET", "/api/publishes/", params=params, idempotent=True)
        return [self._read(schemas.PublishOut, item) for item in found]

    # Parts and layers --------------------------------------------------------------------

    def get_part(self, ref: int | str, project: str | None = None) -> PartOut:
        from pm_db.services.parts import PartOut

        params = _given(part=ref, project=project)
        return self._read(
            PartOut, self.call("GET", "/api/parts/find/", params=params, idempotent=True)
        )

    def list_parts(
        self, asset_name: str | None = None, project: str | None = None
    ) -> list[PartOut]:
        from pm_db.services.parts import PartOut

        params = _given(asset=asset_name, project=project)
        found = self.call("GET", "/api/parts/", params=params, idempotent=True)
        return [self._read(PartOut, item) for item in found]

    def _part(self, verb: str, data: object) -> PartOut:
        from pm_db.services.parts import PartOut

        # Pinning, withdrawing and their reverses set a state: repeating one is harmless.
        found = self.call("POST", f"/api/parts/{verb}/", body=data, idempotent=True)
        return self._read(PartOut, found)

    def pin_part(self, data: object) -> PartOut:
        return self._part("pin", data)

    def unpin_part(self, data: object) -> PartOut:
        return self._part("unpin", data)

    def withdraw_part(self, data: object) -> PartOut:
        return self._part("withdraw", data)

    def restore_part(self, data: object) -> PartOut:
        return self._part("restore", data)

    def rebuild_layers(
        self, asset_name: str | None = None, project: str | None = None
    ) -> RebuildReport:
        from pm_db.usd.layers import RebuildReport

        params = _given(asset=asset_name, project=project)
        found = self.call("POST", "/api/parts/rebuild/", params=params, idempotent=True)
        return self._read(RebuildReport, found)

    # The asset browser and the launcher -----------------------------------------------------

    def _nodes(self, path: str, params: dict[str, Any]) -> list[BrowseNode]:
        from pm_db.views import BrowseNode

        found = self.call("GET", path, params=params, idempotent=True)
        return [self._read(BrowseNode, item) for item in found]

    def browse_roots(self) -> list[BrowseNode]:
        return self._nodes("/api/browse/", {})

    def browse_children(self, keys: list[str], limit: int = 200) -> list[BrowseNode]:
        if not keys:
            return []
        return self._nodes("/api/browse/children/", {"key": list(keys), "limit": limit})

    def browse_versions(self, part_id: int, offset: int = 0, limit: int = 200) -> list[BrowseNode]:
        params = {"part_id": part_id, "offset": offset, "limit": limit}
        return self._nodes("/api/browse/versions/", params)

    def browse_search(self, text: str, limit: int = 200) -> list[list[str]]:
        params = {"text": text, "limit": limit}
        found: list[list[str]] = self.call(
            "GET", "/api/browse/search/", params=params, idempotent=True
        )
        return found

    def artist_tasks(self, artist: str) -> list[TaskRow]:
        from pm_db.views import TaskRow

        params = {"artist": artist}
        found = self.call("GET", "/api/browse/tasks/", params=params, idempotent=True)
        return [self._read(TaskRow, item) for item in found]

    def task_row(self, task_id: int) -> TaskRow:
        from pm_db.views import TaskRow

        found = self.call("GET", f"/api/browse/tasks/{_segment(task_id)}/", idempotent=True)
        return self._read(TaskRow, found)

    def record_launch(self, data: object) -> EventOut:
        from pm_db.services.events import EventOut

        return self._read(EventOut, self.call("POST", "/api/launches/", body=data))

    # Entities --------------------------------------------------------------------------

    def get(self, kind: str, ident: int) -> Any:
        out, _ = _kind(kind)
        found = self.call("GET", f"/api/{kind}s/{_segment(ident)}/", idempotent=True)
        return self._read(out, found)

    def find(self, kind: str, key: str, **scope: int) -> Any:
        out, lookup = _kind(kind)
        params = {lookup: key, **scope}
        return self._read(
            out, self.call("GET", f"/api/{kind}s/find/", params=params, idempotent=True)
        )

    def list(self, kind: str, **filters: Any) -> list[Any]:
        out, _ = _kind(kind)
        found = self.call("GET", f"/api/{kind}s/", params=_given(**filters), idempotent=True)
        return [self._read(out, item) for item in found]

    def create(self, kind: str, data: object) -> Any:
        out, _ = _kind(kind)
        return self._read(out, self.call("POST", f"/api/{kind}s/", body=data))

    def update(self, kind: str, ident: int, data: object) -> Any:
        out, _ = _kind(kind)
        path = f"/api/{kind}s/{_segment(ident)}/"
        return self._read(out, self.call("PATCH", path, body=data, idempotent=True))

    def delete(self, kind: str, ident: int) -> None:
        _kind(kind)
        self.call("DELETE", f"/api/{kind}s/{_segment(ident)}/")

    def whoami(self) -> dict[str, Any]:
        """Who the token speaks for: artist, is_admin, token_id, label."""
        found: dict[str, Any] = self.call("GET", "/api/me/", idempotent=True)
        return found


def _kind(kind: str) -> tuple[type[schemas.Out], str]:
    if kind not in KINDS:
        raise ValidationError(f"unknown kind (known: {', '.join(KINDS)})", field="kind")
    return KINDS[kind]


def _segment(value: int | str) -> str:
    """One path segment, quoted so that no value can change the route."""
    return quote(str(value), safe="")


def _given(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset ones; booleans as the service reads them."""
    return {
        k: (str(v).lower() if isinstance(v, bool) else v)
        for k, v in values.items()
        if v is not None
    }


def _keyed(data: object) -> bool:
    """Whether a write carries a request id, which makes repeating it safe."""
    value = data.get("request_id") if isinstance(data, dict) else getattr(data, "request_id", None)
    return isinstance(value, str) and bool(value)
