"""The virustotal and abuseipdb connectors against fakes that follow the vendors' references.

Documents the fakes follow (cited in full in ``fakes/virustotal.py`` and ``fakes/abuseipdb.py``):
VirusTotal "Errors", https://docs.virustotal.com/reference/errors, and the API v3 object
reports, https://docs.virustotal.com/reference/overview; "AbuseIPDB APIv2 Documentation",
https://docs.abuseipdb.com/ (CHECK endpoint).
"""

from __future__ import annotations

import httpx
import pytest

from connectors.tests.fakes.abuseipdb import FakeAbuseIpdb
from connectors.tests.fakes.virustotal import FakeVirusTotal
from rampart.connectors.abuseipdb import AbuseIpdbConnector
from rampart.connectors.virustotal import VirusTotalConnector
from rampart.connectors.virustotal.connector import url_id
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness

SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


def vt(fake: FakeVirusTotal, key: str | None = None) -> ConnectorHarness[VirusTotalConnector]:
    return ConnectorHarness(
        VirusTotalConnector, {"api_key": key or fake.key}, http=httpx.ASGITransport(app=fake.app())
    )


def abuse(fake: FakeAbuseIpdb, key: str | None = None) -> ConnectorHarness[AbuseIpdbConnector]:
    return ConnectorHarness(
        AbuseIpdbConnector, {"api_key": key or fake.key}, http=httpx.ASGITransport(app=fake.app())
    )


def test_the_declarations_match_the_catalog() -> None:
    vt(FakeVirusTotal()).check()
    abuse(FakeAbuseIpdb()).check()


async def test_virustotal_looks_up_each_kind_of_object() -> None:
    fake = FakeVirusTotal()
    fake.add("ip_addresses", "203.0.113.9", malicious=7, reputation=-40)
    fake.add("files", SHA256, malicious=0, suspicious=2)
    fake.add("domains", "example.org", malicious=0)
    fake.add("urls", url_id("http://evil.example/x?a=1"), malicious=3)
    h = vt(fake)
    ip = await h.run("lookup ip", ip="203.0.113.9")
    assert ip.model_dump() == {
        "kind": "ip",
        "value": "203.0.113.9",
        "found": True,
        "verdict": "malicious",
        "malicious": 7,
        "suspicious": 0,
        "harmless": 60,
        "undetected": 10,
        "reputation": -40,
        "link": "https://www.virustotal.com/api/v3/ip_addresses/203.0.113.9",
    }
    assert (await h.run("lookup hash", hash=SHA256.upper())).model_dump()["verdict"] == "suspicious"
    assert (await h.run("lookup domain", domain="Example.ORG")).model_dump()["verdict"] == "clean"
    url = await h.run("lookup url", url="http://evil.example/x?a=1")
    assert url.model_dump()["verdict"] == "malicious"
    assert fake.requests[-1] == "GET /api/v3/urls/aHR0cDovL2V2aWwuZXhhbXBsZS94P2E9MQ"
    assert "malicious" in h.render("lookup ip", ip)


async def test_an_object_virustotal_never_saw_is_unknown_not_a_failure() -> None:
    result = await vt(FakeVirusTotal()).run("lookup domain", domain="never-seen.example")
    assert result.model_dump()["found"] is False
    assert result.model_dump()["verdict"] == "unknown"


async def test_a_wrong_virustotal_key_is_its_message_without_the_key() -> None:
    wrong = "wrong-vt-key-000000000000"
    with pytest.raises(ActionError) as caught:
        await vt(FakeVirusTotal(), key=wrong).run("lookup ip", ip="203.0.113.9")
    assert "401: Wrong API key" in str(caught.value)
    assert wrong not in str(caught.value)


async def test_virustotal_quota_is_transient_for_a_minute() -> None:
    with pytest.raises(TargetUnavailable) as caught:
        await vt(FakeVirusTotal(quota=0)).run("lookup ip", ip="203.0.113.9")
    assert caught.value.retry_after == 60.0
    assert "Quota exceeded" in str(caught.value)


async def test_abuseipdb_reports_the_score() -> None:
    fake = FakeAbuseIpdb(
        scores={
            "203.0.113.9": {
                "score": 91,
                "reports": 12,
                "users": 5,
                "country": "NL",
                "isp": "Example BV",
            }
        }
    )
    h = abuse(fake)
    result = await h.run("lookup ip", ip="203.0.113.9")
    assert result.model_dump() == {
        "ip": "203.0.113.9",
        "abuse_confidence_score": 91,
        "malicious": True,
        "total_reports": 12,
        "distinct_users": 5,
        "is_public": False,
        "is_whitelisted": False,
        "country_code": "NL",
        "usage_type": None,
        "isp": "Example BV",
        "domain": None,
        "last_reported_at": None,
    }
    assert fake.queries == [{"ipAddress": "203.0.113.9", "maxAgeInDays": "90"}]
    assert "91%" in h.render("lookup ip", result)


async def test_a_wrong_abuseipdb_key_is_its_message_without_the_key() -> None:
    wrong = "wrong-abuse-key-0000000000"
    with pytest.raises(ActionError) as caught:
        await abuse(FakeAbuseIpdb(), key=wrong).run("test connectivity")
    assert "401: Authentication failed. Your API key is either missing" in str(caught.value)
    assert wrong not in str(caught.value)


async def test_abuseipdb_429_is_transient_with_its_retry_after() -> None:
    with pytest.raises(TargetUnavailable) as caught:
        await abuse(FakeAbuseIpdb(remaining=0)).run("lookup ip", ip="203.0.113.9")
    assert caught.value.retry_after == 3600.0
    assert "Daily rate limit" in str(caught.value)
