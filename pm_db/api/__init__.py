"""pm's REST service (the `serve` extra: FastAPI and uvicorn). The only part of pm_db that
imports FastAPI; `pm serve` runs `pm_db.api.app:create_app`. Routes and rules:
docs/rest.md."""
