"""Domain errors as problem documents: every wrong field named, conflicts on a field, extras."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from rampart.core.errors import ConflictError, FieldConflict, FieldError
from rampart.core.problems import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/several")
    async def several() -> None:
        raise FieldError("body.config.port", "too big", more=[("body.config.host", "missing")])

    @app.get("/taken")
    async def taken() -> None:
        raise FieldConflict("body.name", "an asset named 'web-01' already exists")

    @app.get("/in-use")
    async def in_use() -> None:
        raise ConflictError("owner 'alice' answers for assets", assets=["web-01"])

    return app


async def _get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_every_wrong_field_is_named_first_one_first() -> None:
    response = await _get("/several")
    assert response.status_code == 422
    assert response.json()["detail"] == "body.config.port: too big"
    assert response.json()["errors"] == [
        {"field": "body.config.port", "message": "too big"},
        {"field": "body.config.host", "message": "missing"},
    ]


async def test_a_field_conflict_is_a_409_naming_the_field() -> None:
    response = await _get("/taken")
    assert response.status_code == 409
    assert response.json()["title"] == "Conflict"
    assert response.json()["errors"][0]["field"] == "body.name"
    assert issubclass(FieldConflict, ConflictError)


async def test_extensions_become_members_of_the_problem() -> None:
    response = await _get("/in-use")
    assert response.status_code == 409
    assert response.json()["assets"] == ["web-01"]
    assert response.headers["content-type"] == "application/problem+json"
