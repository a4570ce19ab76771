"""The runner honours a product's ``Retry-After``: the retry waits at least that long.

The product is the fortigate connector's fake FortiOS REST API (Fortinet's "FortiGate
Administration Guide — Using APIs", https://docs.fortinet.com/document/fortigate/7.4.0/
administration-guide/940602), served on a real TLS port, answering the first request with
429 and ``Retry-After: 2`` (RFC 9110 10.2.3, RFC 6585 4); the broker's own backoff is 0.05 s.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from connectors.tests.fakes._serve import serve_tls
from connectors.tests.fakes.fortigate import Fortigate, make_app
from rampart.core.messages import ActionCompleted, ActionRequested, ActionTarget


async def test_a_429_retry_waits_for_the_products_retry_after(broker: Any, tmp_path: Path) -> None:
    fgt = Fortigate()
    fgt.faults.add("/api/v2/cmdb", 429, headers={"Retry-After": "2"}, body={"http_status": 429})
    async with serve_tls(make_app(fgt), tmp_path) as served:
        owner = await broker.owner("fgt")
        created = await broker.client.post(
            "/api/v1/assets",
            json={
                "name": f"fgt-{broker.suffix}",
                "connector": "fortigate",
                "config": {
                    "url": served.url,
                    "api_token": "fgt-token-0123456789",
                    "tls": {"ca_bundle": served.ca_pem},
                },
                "primary_owners": [owner],
                "approval_policy": {"exempt": ["block ip"]},
            },
            headers=broker.auth(),
        )
        assert created.status_code == 201, created.text
        request = ActionRequested(
            request_key=f"test:{uuid4()}",
            action="block ip",
            target=ActionTarget(asset=created.json()["name"]),
            params={"ip": "203.0.113.44"},
            requested_by="tests",
        )
        await broker.publish(request)
        done = await broker.message(ActionCompleted, request_key=request.request_key)
    assert done.status == "success", done.message
    assert "rampart-203.0.113.44" in fgt.objects["address"]
    run = await broker.run(done.results[0].action_run_id)
    first, second = run["attempts"]
    assert first["outcome"] == "transient"
    assert "answered 429" in first["error"]
    wait = datetime.fromisoformat(run["not_before"]) - datetime.fromisoformat(first["ended_at"])
    assert wait >= timedelta(seconds=2)
    assert datetime.fromisoformat(second["started_at"]) >= datetime.fromisoformat(run["not_before"])
