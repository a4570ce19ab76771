"""``auth: "url-token"``: Splunk's stock webhook action, which cannot send headers, proves its
source with the secret in the URL; opt-in per source and rotatable (kept out of log lines:
``shared/tests/test_core_units.py``).

The body is the example of Splunk's "Use a webhook alert action" page
(https://docs.splunk.com/Documentation/Splunk/latest/Alert/Webhooks).
"""

from __future__ import annotations

from typing import Any

from rampart.core.auth import Role
from services.ingest.tests._ingest_api import Ingest
from services.ingest.tests._payloads import SPLUNK_DOCS_ALERT
from tests.harness import memory_only

pytestmark = memory_only


async def _post(ingest: Ingest, source: dict[str, Any], token: str | None) -> int:
    url = f"/api/v1/ingest/{source['name']}"
    params = {} if token is None else {"token": token}
    response = await ingest.client.post(url, json=SPLUNK_DOCS_ALERT, params=params)
    return response.status_code


async def test_a_url_token_source_takes_its_secret_from_the_url(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk", auth="url-token")
    assert source["secret"].startswith("whsec_")
    assert len(source["secret"]) >= 40
    assert await _post(ingest, source, source["secret"]) == 202
    assert await _post(ingest, source, None) == 401
    assert await _post(ingest, source, source["secret"][:-2] + "xx") == 401
    bearer = await ingest.client.post(
        f"/api/v1/ingest/{source['name']}",
        json=SPLUNK_DOCS_ALERT,
        headers={"Authorization": f"Bearer {source['secret']}"},
    )
    assert bearer.status_code == 401, "a url-token source takes the token from the URL only"


async def test_other_sources_never_accept_a_token_in_the_url(ingest: Ingest) -> None:
    for auth in ("hmac", "bearer"):
        source = await ingest.make_source(kind="splunk", auth=auth)
        assert await _post(ingest, source, source["secret"]) == 401, auth


async def test_a_url_token_is_rotated_like_the_other_secrets(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="splunk", auth="url-token")
    rotated = await ingest.client.post(
        f"/api/v1/sources/{source['name']}/rotate-secret",
        json={"grace_minutes": 0},
        headers=ingest.harness.headers(Role.ADMIN),
    )
    assert rotated.status_code == 200, rotated.text
    assert await _post(ingest, source, source["secret"]) == 401
    assert await _post(ingest, source, rotated.json()["secret"]) == 202
