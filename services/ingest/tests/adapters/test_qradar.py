"""QRadar offenses pushed to the webhook (the shape of ``GET /api/siem/offenses``)."""

from __future__ import annotations

import pytest

from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import QRADAR_OFFENSE, cef_values
from tests.harness import memory_only

pytestmark = memory_only


async def test_a_pushed_offense_is_one_event(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="qradar", severity_map={"9": "high"})
    response = await ingest.post_signed(source, [QRADAR_OFFENSE])
    assert response.status_code == 202, response.text
    event = await ingest.event(response.json()["events"][0]["id"])
    assert event["name"] == "Multiple Login Failures for the Same User containing Failure Audit"
    assert event["source_ref"] == "4242"
    assert event["severity"] == "high", "the source's map wins over the default scale"
    assert event["occurred_at"].startswith("2023-11-14T22:13:20")
    assert cef_values(event["artifacts"]) == {"sourceAddress": "192.0.2.44"}
    assert event["data"]["magnitude"] == 9


@pytest.mark.parametrize(
    ("magnitude", "expected"), [(2, "low"), (5, "medium"), (7, "high"), (10, "critical")]
)
async def test_a_magnitude_maps_to_a_severity_by_default(
    ingest: Ingest, magnitude: int, expected: str
) -> None:
    default = await ingest.make_source(kind="qradar")
    offense = {**QRADAR_OFFENSE, "id": 9000 + magnitude, "magnitude": magnitude}
    posted = await ingest.post_signed(default, offense)
    assert (await ingest.event(posted.json()["events"][0]["id"]))["severity"] == expected
