"""Property-based API fuzz: every route of every service, and the signed webhook, never 5xx.

Schemathesis turns each service's own OpenAPI document into a Hypothesis strategy of requests
(``schema.as_strategy()``), and Hypothesis drives the property, so a failure shrinks to its
smallest request and replays from the same seed (``derandomize``). The services run in this
process on the shared harness (all five served, so calls between them are real); each service's
operations are fuzzed by their own test, ``-k ingest`` and so on, with a token of a role the
case draws. A request that is not answered within ``ANSWER_S`` is a hang.

``RAMPART_TEST_FUZZ_EXAMPLES`` (default 1,000 per service) lowers the count for a quick run.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rampart.cli._services import SERVICES, service_spec
from rampart.core.app import create_app
from rampart.core.auth import Role
from rampart.ingest.sources.webhook_auth import sign
from tests.harness import ServiceHarness, memory_only

EXAMPLES = int(os.environ.get("RAMPART_TEST_FUZZ_EXAMPLES", "1000"))
ANSWER_S = 20.0
T = TypeVar("T")

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


class Bridge:
    """Runs the harness client's coroutines on the test's loop from Hypothesis's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], what: str) -> T:
        future = asyncio.run_coroutine_threadsafe(make(), self.loop)
        try:
            return future.result(timeout=ANSWER_S)
        except FutureTimeout:
            future.cancel()
            raise AssertionError(f"no answer within {ANSWER_S}s: {what}") from None


def _request(kwargs: dict[str, Any], token: str | None) -> dict[str, Any]:
    """Schemathesis's transport arguments (requests-style) as httpx's."""
    headers = {k: v for k, v in kwargs.get("headers", {}).items() if k.lower() != "authorization"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    out: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": headers,
        "params": kwargs.get("params") or None,
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        out["content"] = json.dumps(kwargs["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "data" in kwargs:
        data = kwargs["data"]
        out["content" if isinstance(data, bytes | str) else "data"] = data
    return out


def _service_schema(name: str) -> Any:
    """The OpenAPI document one service serves on its own, as a schemathesis schema."""
    return schemathesis.openapi.from_dict(create_app([service_spec(name)]).openapi())


async def _fuzz(harness: ServiceHarness, strategy: Any, send: Callable[..., Any]) -> int:
    """Run the property in a worker thread (the services answer on this loop)."""
    bridge = Bridge(asyncio.get_running_loop())
    calls = 0

    @FUZZ_SETTINGS
    @given(case=strategy, role=st.sampled_from([*Role, None]))
    def no_server_error(case: Any, role: Role | None) -> None:
        nonlocal calls
        calls += 1
        status, what = send(bridge, case, None if role is None else harness.tokens[role])
        assert status < 500, what

    await asyncio.to_thread(no_server_error)
    return calls


@memory_only
@pytest.mark.parametrize("service", list(SERVICES))
async def test_no_route_of_a_service_answers_5xx_or_hangs(
    harness: ServiceHarness, service: str
) -> None:
    schema = _service_schema(service)
    async with harness.client(None, timeout=ANSWER_S) as client:

        def send(bridge: Bridge, case: Any, token: str | None) -> tuple[int, str]:
            request = _request(case.as_transport_kwargs(base_url=harness.url), token)
            response = bridge.run(lambda: client.request(**request), case.as_curl_command())
            return response.status_code, f"{case.as_curl_command()}\n-> {response.text[:500]}"

        calls = await _fuzz(harness, schema.as_strategy(), send)
    assert calls >= EXAMPLES


_SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
_KEYS = st.sampled_from(
    [
        "result", "rule_name", "search_name", "sid", "event_id", "_time", "urgency", "src",
        "dest", "dest_ip", "user", "id", "description", "magnitude", "start_time",
        "offense_type", "offense_source", "title", "level", "tags", "network", "alerts",
        "properties", "incidentNumber", "severity", "kibana.alert.rule.name", "@timestamp",
    ]
) | st.text(max_size=12)  # fmt: skip
_JSON = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6),
    max_leaves=20,
)
# text a sender can encode: UTF-8 has no lone surrogates (invalid bytes come from st.binary)
_CEF_FIELD = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=12)
_CEF = st.builds(
    lambda head, ext: "CEF:" + "|".join(head) + "|" + " ".join(f"{k}={v}" for k, v in ext),
    st.lists(_CEF_FIELD, min_size=0, max_size=8),
    st.lists(
        st.tuples(st.sampled_from(["src", "dst", "suser", "rt", "externalId", "cs1", "x"]),
                  _CEF_FIELD),
        max_size=5,
    ),
)  # fmt: skip
_WEBHOOK = st.one_of(
    st.tuples(st.just("application/json"), _JSON.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("application/json"), st.binary(max_size=200)),
    st.tuples(
        st.sampled_from(["text/plain", "text/cef; charset=utf-8"]),
        st.lists(_CEF, min_size=1, max_size=4).map(lambda lines: "\n".join(lines).encode()),
    ),
    st.tuples(st.sampled_from(["", "application/xml", "Application/JSON"]), st.binary(max_size=80)),
)
_GENERIC_MAPPING = {
    "events": "alerts",
    "name": "title",
    "source_ref": "id",
    "severity": "level",
    "occurred_at": "created",
    "labels": "tags",
    "artifacts": {"sourceAddress": "network.src", "fileHash": "file.sha256"},
}


@memory_only
async def test_the_signed_webhook_never_answers_5xx_or_hangs(harness: ServiceHarness) -> None:
    sources: list[dict[str, Any]] = []
    async with harness.client(Role.ADMIN) as admin:
        for kind in ("splunk", "qradar", "arcsight", "generic"):
            body: dict[str, Any] = {"name": f"fuzz-{kind}-{uuid.uuid4().hex[:6]}", "kind": kind}
            if kind == "generic":
                body["mapping"] = _GENERIC_MAPPING
            made = await admin.post("/api/v1/sources", json=body)
            assert made.status_code == 201, made.text
            sources.append(made.json())
    cases = st.tuples(st.sampled_from(sources), _WEBHOOK)
    async with harness.client(None, timeout=ANSWER_S) as client:

        def send(bridge: Bridge, case: Any, _token: str | None) -> tuple[int, str]:
            source, (content_type, body) = case
            webhook_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
            headers = {
                "content-type": content_type,
                "webhook-id": webhook_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(
                    source["secret"], webhook_id=webhook_id, timestamp=timestamp, body=body
                ),
            }
            url = f"/api/v1/ingest/{source['name']}"
            response = bridge.run(
                lambda: client.post(url, content=body, headers=headers), f"{url} {body[:200]!r}"
            )
            what = f"{source['kind']} {content_type} {body[:300]!r}\n-> {response.text[:500]}"
            assert response.status_code != 401, what  # every case is signed: it must get in
            return response.status_code, what

        calls = await _fuzz(harness, cases, send)
    assert calls >= EXAMPLES
