"""The API document: FastAPI's, plus the request bodies.

Bodies are read as raw JSON and handed to the same service functions every front end
calls, so a REST client gets exactly the errors a local caller gets; the document still
describes each body by its input model (pm_db.schemas), registered here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from pm_db.schemas import JSON_SCHEMAS, JSON_VALUE_MARK, TEXT_PATTERN

REF = "#/components/schemas/{model}"
_bodies: dict[str, type[BaseModel]] = {}
_defaulted: dict[str, tuple[str, ...]] = {}


def body(model: type[BaseModel], defaulted: tuple[str, ...] = ()) -> dict[str, Any]:
    """The `openapi_extra` of a route whose JSON body is `model`; fields `defaulted` may be
    left out over HTTP (the service fills them in: `artist` is the token's)."""
    _bodies[model.__name__] = model
    _defaulted[model.__name__] = defaulted
    schema = {"$ref": REF.format(model=model.__name__)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app`, built once."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, model in _bodies.items():
        schema = model.model_json_schema(ref_template=REF)
        optional = set(_defaulted.get(name, ()))
        schema["required"] = [key for key in schema.get("required", []) if key not in optional]
        _no_nul(schema)
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    components.update(JSON_SCHEMAS)
    for item in spec["paths"].values():
        for operation in item.values():
            _no_nul(operation.get("parameters", []))
    spec["components"]["securitySchemes"] = {
        "token": {"type": "http", "scheme": "bearer", "description": "`pm token create`"}
    }
    spec["security"] = [{"token": []}]
    app.openapi_schema = spec
    return spec


def _no_nul(node: Any) -> None:
    """Every string of a request (parameters, bodies) the document describes without a
    pattern, enum or format gets TEXT_PATTERN: the service refuses NUL in any text
    (pm_db.schemas.check_text). Free JSON (metadata) refers to JsonValue."""
    if isinstance(node, list):
        for item in node:
            _no_nul(item)
        return
    if not isinstance(node, dict):
        return
    if node.pop(JSON_VALUE_MARK, False):
        node["$ref"] = "#/components/schemas/JsonValue"
    plain = not any(key in node for key in ("pattern", "enum", "const", "format"))
    if node.get("type") == "string" and plain:
        node["pattern"] = TEXT_PATTERN
    for value in node.values():
        _no_nul(value)
