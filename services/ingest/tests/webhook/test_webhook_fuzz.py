"""No input makes ingest answer 500 or lose its footing: property-based tests with hypothesis."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampart.core.auth import Role
from rampart.ingest.spec import SPEC
from services.ingest.tests._ingest_api import MAX_BODY_BYTES, Ingest, using
from tests.harness import make_test_bus, serve_services

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                [
                    "result",
                    "sid",
                    "rule_name",
                    "urgency",
                    "src",
                    "dest",
                    "id",
                    "magnitude",
                    "offense_type",
                    "offense_source",
                    "start_time",
                    "description",
                    "title",
                    "items",
                    "_time",
                    "user",
                    "search_name",
                    "event_id",
                ]
            )
            | st.text(max_size=10),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


@pytest.fixture(scope="module")
async def ingest(database_url: str) -> AsyncIterator[tuple[Ingest, dict[str, dict[str, Any]]]]:
    """One ingest for the module (on the in-process bus) and a source of every kind."""
    bus = make_test_bus("memory", f"tfuzz{uuid.uuid4().hex[:8]}")
    async with (
        serve_services(
            [SPEC], database_url=database_url, bus=bus, max_body_bytes=MAX_BODY_BYTES
        ) as running,
        using(running) as app,
    ):
        made = {}
        for kind in ("splunk", "qradar", "arcsight", "generic"):
            extra: dict[str, Any] = {}
            if kind == "generic":
                extra["mapping"] = {
                    "events": "items",
                    "name": "title",
                    "source_ref": "id",
                    "severity": "magnitude",
                    "occurred_at": "start_time",
                    "labels": "user",
                    "artifacts": {"sourceAddress": "src", "fileHash": "dest"},
                }
            made[kind] = await app.make_source(kind=kind, auth="bearer", **extra)
        yield app, made


async def _post(app: Ingest, source: dict[str, Any], body: bytes, content_type: str) -> None:
    response = await app.client.post(
        f"/api/v1/ingest/{source['name']}",
        content=body,
        headers={"Authorization": f"Bearer {source['secret']}", "content-type": content_type},
    )
    assert response.status_code in (202, 400, 413, 415, 422), (
        response.status_code,
        response.text,
        body[:300],
    )
    assert response.headers["content-type"] in ("application/json", "application/problem+json")


@pytest.mark.parametrize("kind", ["splunk", "qradar", "arcsight", "generic"])
async def test_any_json_gets_a_clear_answer(
    ingest: tuple[Ingest, dict[str, dict[str, Any]]], kind: str
) -> None:
    app, sources = ingest

    pending: list[bytes] = []

    @given(JSON)
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    def collect(payload: Any) -> None:
        pending.append(json.dumps(payload).encode())

    collect()
    for body in pending:
        await _post(app, sources[kind], body, "application/json")


async def test_any_bytes_get_a_clear_answer(
    ingest: tuple[Ingest, dict[str, dict[str, Any]]],
) -> None:
    app, sources = ingest
    pending: list[tuple[str, bytes, str]] = []

    @given(
        st.sampled_from(["splunk", "qradar", "arcsight", "generic"]),
        st.binary(max_size=400)
        | st.text(max_size=400).map(lambda t: ("CEF:0|" + t).encode("utf-8", "surrogatepass")),
        st.sampled_from(
            ["application/json", "text/plain", "application/xml", "", "text/plain; charset=utf-8"]
        ),
    )
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    def collect(kind: str, body: bytes, content_type: str) -> None:
        pending.append((kind, body, content_type))

    collect()
    for kind, body, content_type in pending:
        await _post(app, sources[kind], body, content_type)
    alive = await app.client.get("/api/v1/events", headers=app.harness.headers(Role.ANALYST))
    assert alive.status_code == 200
