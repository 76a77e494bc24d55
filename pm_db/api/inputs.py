"""What the service accepts from the wire: a bounded JSON body, and text a database can
store. The models in pm_db.schemas check the meaning; this module checks the transport."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from pm_db.errors import ValidationError

# The seed's payloads are a few kilobytes; metadata is bounded at 64 KiB.
MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 32


class MalformedBody(ValidationError):
    """The body is not JSON at all (HTTP 400)."""

    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message, field="body")


class BodyTooLarge(ValidationError):
    """The body is larger than MAX_BODY_BYTES (HTTP 413)."""

    http_status = 413

    def __init__(self) -> None:
        super().__init__(f"is larger than {MAX_BODY_BYTES} bytes", field="body")


def check_text(value: str, field: str) -> None:
    """Refuse text no database can store: NUL characters (PostgreSQL refuses them) and
    lone surrogates (not encodable as UTF-8). Raises ValidationError naming `field`."""
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("is not valid Unicode text", field=field) from None


def check_json(value: Any, field: str = "", depth: int = 0) -> None:
    """Every key and string inside `value` passes check_text; nesting is bounded. Raises
    ValidationError naming the dotted path of the culprit."""
    if depth > MAX_DEPTH:
        raise ValidationError(f"nests deeper than {MAX_DEPTH} levels", field=field or "body")
    if isinstance(value, str):
        check_text(value, field or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{field}.{key}" if field else str(key)
            check_text(key, path)
            check_json(item, path, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, f"{field}.{index}" if field else str(index), depth + 1)


async def json_body(request: Request) -> Any:
    """The request body as checked JSON, read up to MAX_BODY_BYTES whatever the content
    type says. Raises ValidationError naming `body` (HTTP 400 malformed, 413 too large)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise MalformedBody("is empty; send a JSON object")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedBody("is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedBody(f"is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise MalformedBody("nests too deeply") from None
    check_json(data)
    return data


async def check_params(request: Request) -> None:
    """Path and query parameters pass check_text; raises ValidationError naming one.
    (Async only so that FastAPI runs it inline, not on a worker thread.)"""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            check_text(value, name)
    for name, value in request.query_params.multi_items():
        check_text(name, name)
        check_text(value, name)
