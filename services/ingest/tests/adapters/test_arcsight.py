"""ArcSight CEF lines posted as ``text/plain``, with every escape the standard allows."""

from __future__ import annotations

from typing import Any

from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import CEF_LINES, cef_values, contains_by_field
from tests.harness import memory_only

pytestmark = memory_only


async def _post_lines(ingest: Ingest) -> list[dict[str, Any]]:
    source = await ingest.make_source(kind="arcsight")
    response = await ingest.post_signed(source, CEF_LINES.encode(), content_type="text/plain")
    assert response.status_code == 202, response.text
    results: list[dict[str, Any]] = response.json()["events"]
    assert [r["index"] for r in results] == [0, 1]
    return results


async def test_each_cef_line_is_an_event(ingest: Ingest) -> None:
    results = await _post_lines(ingest)
    first = await ingest.event(results[0]["id"])
    assert first["name"] == "worm successfully stopped"
    assert first["severity"] == "critical"
    assert first["source_ref"] == "tm-100"
    second = await ingest.event(results[1]["id"])
    assert second["name"] == "Suspicious | process"
    assert second["severity"] == "critical", "Very-High"


async def test_cef_escapes_are_undone_in_the_artifacts(ingest: Ingest) -> None:
    second = await ingest.event((await _post_lines(ingest))[1]["id"])
    cef = cef_values(second["artifacts"])
    assert cef["deviceVendor"] == "Vendor|Inc"
    assert cef["deviceProduct"] == "Prod\\uct"
    assert cef["sourceUserName"] == "CORP\\carol"
    assert cef["message"] == "first line\nsecond a=b"
    assert cef["cs1Label"] == "Ticket"
    assert cef["cs1"] == "INC 0042"
    assert cef["requestURL"] == "https://bad.example.net/payload?x=1"


async def test_cef_fields_get_the_shared_contains_types(ingest: Ingest) -> None:
    second = await ingest.event((await _post_lines(ingest))[1]["id"])
    kinds = contains_by_field(second["artifacts"])
    assert kinds["sourceProcessId"] == ["process id"]
    assert kinds["sourceProcessName"] == ["process name"]
    assert kinds["fileHash"] == ["hash", "sha1"]
    assert kinds["requestURL"] == ["url"]
    assert "host name" in kinds["sourceHostName"]
