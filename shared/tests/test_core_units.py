"""Pure logic of the platform: settings, ids, envelopes, the message registry, limits, AsyncAPI."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from uuid import uuid4

import pytest
from pydantic import SecretStr, ValidationError

from rampart.core.asyncapi import asyncapi_document
from rampart.core.bus._base import decode
from rampart.core.envelope import Envelope
from rampart.core.errors import InvalidMessage
from rampart.core.ids import uuid7
from rampart.core.limits import json_depth, parsed_as_json
from rampart.core.logs import JsonFormatter, TextFormatter
from rampart.core.messages import (
    ActionTarget,
    EventIngested,
    Message,
    UnknownMessageType,
    message_model,
    message_types,
    routing_key,
)
from rampart.core.settings import Mode, Settings


def test_distributed_mode_refuses_to_start_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RAMPART_MASTER_KEY", "RAMPART_DATABASE_URL", "RAMPART_AMQP_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="RAMPART_MASTER_KEY"):
        Settings(mode=Mode.DISTRIBUTED)
    with pytest.raises(ValidationError, match="RAMPART_MASTER_KEY"):
        Settings(
            mode=Mode.DISTRIBUTED,
            database_url=SecretStr("postgresql://db/rampart"),
            amqp_url=SecretStr("amqp://mq/"),
            master_key=SecretStr("  "),
        )
    ok = Settings(
        mode=Mode.DISTRIBUTED,
        database_url=SecretStr("postgresql://db/rampart"),
        amqp_url=SecretStr("amqp://mq/"),
        master_key=SecretStr("k1:" + "A" * 43),
    )
    assert "A" * 43 not in repr(ok)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMPART_BUS_NAMESPACE", "other")
    monkeypatch.setenv("RAMPART_PORT", "9001")
    settings = Settings()
    assert (settings.bus_namespace, settings.port) == ("other", 9001)
    monkeypatch.setenv("RAMPART_BUS_NAMESPACE", "Not Valid!")
    with pytest.raises(ValidationError, match="bus_namespace"):
        Settings()


def test_service_urls_default_to_the_public_url() -> None:
    settings = Settings(public_url="http://rampart:8000/", assets_url="http://assets:8000")
    assert settings.service_url("ingest") == "http://rampart:8000"
    assert settings.service_url("asset-registry") == "http://assets:8000"


def test_uuid7_is_version_7_and_time_ordered() -> None:
    first = uuid7()
    time.sleep(0.002)
    ids = [uuid7() for _ in range(1000)]
    assert first.version == 7
    assert first.variant == uuid.RFC_4122
    assert all(first < later for later in ids)
    assert len(set(ids)) == 1000
    millis = first.int >> 80
    assert abs(millis - time.time() * 1000) < 5_000


def test_routing_keys_and_registry() -> None:
    assert routing_key("rampart.action.requested.v1") == "action.requested"
    assert routing_key("rampart.playbook.run.started.v1") == "playbook.run.started"
    assert message_model("rampart.event.ingested.v1") is EventIngested
    with pytest.raises(UnknownMessageType):
        message_model("rampart.nope.v1")
    with pytest.raises(UnknownMessageType):
        routing_key("event.ingested")
    expected = {
        "event.ingested", "event.updated", "event.closed", "event.change.requested",
        "task.created", "task.completed", "playbook.run.started", "playbook.run.completed",
        "playbook.run.failed", "action.requested", "action.started", "action.completed",
        "approval.requested", "approval.notified", "approval.escalated", "approval.decided",
        "sla.breached", "asset.created", "asset.updated", "asset.deleted", "owner.created",
        "owner.updated", "owner.deleted",
    }  # fmt: skip
    assert expected <= {routing_key(t) for t in message_types()}


def test_a_type_can_not_be_registered_twice_or_misnamed() -> None:
    with pytest.raises(ValueError, match="registered twice"):

        class Again(Message):
            message_type = "rampart.event.ingested.v1"

    with pytest.raises(ValueError, match="not of the form"):

        class Misnamed(Message):
            message_type = "event.ingested"


def test_messages_are_frozen_and_refuse_unknown_fields() -> None:
    message = EventIngested(event_id=uuid4(), source="s", name="n", severity="low")
    with pytest.raises(ValidationError):
        message.name = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        EventIngested(event_id=uuid4(), source="s", name="n", severity="low", bogus=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="exactly one"):
        ActionTarget(asset="a", tag="t")


def test_envelope_carries_correlation_along_a_chain() -> None:
    first = Envelope.wrap(
        EventIngested(event_id=uuid4(), source="s", name="n", severity="high"), source="test"
    )
    assert first.correlationid == first.id
    assert first.routing_key == "event.ingested"
    second = Envelope.wrap(
        EventIngested(event_id=uuid4(), source="s", name="m", severity="high"),
        source="test",
        cause=first,
    )
    assert (second.correlationid, second.causationid) == (first.id, first.id)
    body = json.loads(second.to_bytes())
    assert body["specversion"] == "1.0"
    assert body["type"] == "rampart.event.ingested.v1"
    assert body["datacontenttype"] == "application/json"
    envelope, message = decode(second.to_bytes())
    assert envelope == second
    assert isinstance(message, EventIngested)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not a CloudEvents envelope"),
        (b'{"specversion": "1.0", "id": "1", "source": "x", "type": "rampart.nope.v1", "data": {}}',
         "no message model"),
        (b'{"specversion": "1.0", "id": "1", "source": "x", "type": "rampart.event.ingested.v1",'
         b' "data": {"name": "n"}}', "data invalid"),
    ],
)  # fmt: skip
def test_decode_names_what_is_wrong(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        decode(body)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[{{{{"}', 1),
        (b'["\\"[[[", [[]]]', 3),
        (b'[["never closed [[[[', 2),
        (b'[["ends in a backslash \\', 2),
        (b'[[{"a\\\\": [1]}]]', 4),
    ],
)
def test_json_depth(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize(
    "make",
    [
        lambda n: b'"' + b'\\"' * n,  # one string that never closes, every quote escaped
        lambda n: b'"x' * n,  # strings that open and close
        lambda n: b"[" * n + b'"' * n,
    ],
    ids=["unclosed-escaped", "many-strings", "brackets-then-quotes"],
)
def test_json_depth_is_linear_in_the_body(make: Callable[[int], bytes]) -> None:
    """Ten times the body costs about ten times the scan, not a hundred: a ratio of two sizes
    in the same run (the median of three passes each), so a loaded machine slows both alike.
    At 400 KB a quadratic scan takes minutes."""
    body, small = make(200_000), make(20_000)

    def cost(data: bytes) -> float:
        passes = []
        for _ in range(3):
            started = time.perf_counter()
            json_depth(data)
            passes.append(time.perf_counter() - started)
        return sorted(passes)[1]

    ratio = cost(body) / max(cost(small), 1e-6)
    # linear gives about 10; a quadratic scan about 100
    assert ratio < 30, f"10x the input cost {ratio:.0f}x the time"


@pytest.mark.parametrize(
    ("content_type", "as_json"),
    [
        (None, True),
        ("", True),
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/vnd.api+json", True),
        (b"APPLICATION/JSON", True),
        ("text/plain", False),
        ("text/plain; note=json", False),
    ],
)
def test_parsed_as_json_reads_every_spelling(content_type: str | None, as_json: bool) -> None:
    assert parsed_as_json(content_type) is as_json


def test_asyncapi_document_lists_every_type_with_its_schema() -> None:
    doc = asyncapi_document(exchange="rampart")
    assert doc["asyncapi"] == "3.0.0"
    messages = doc["components"]["messages"]
    assert {m["name"] for m in messages.values()} == set(message_types())
    for message in messages.values():
        ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
        assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"]
    channel = doc["channels"]["action_requested"]
    assert channel["address"] == "action.requested"
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "rampart"
    # a dispatch is published to its connector's own routing key, and the document says so
    dispatched = doc["channels"]["action_dispatched"]
    assert dispatched["address"] == "action.dispatched.{connector}"
    assert set(dispatched["parameters"]) == {"connector"}
    assert "'action.dispatched.*'" in doc["operations"]["receive_action_dispatched"]["summary"]
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = doc
        for part in ref.split("/"):
            node = node[part]


def test_log_lines_are_json_with_the_correlation_id() -> None:
    import logging

    from rampart.core.logs import JsonFormatter, correlation_id

    record = logging.makeLogRecord(
        {"name": "rampart.test", "levelname": "INFO", "msg": "hello %s", "args": ("world",)}
    )
    record.queue = "ingest.sla"
    token = correlation_id.set("corr-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        correlation_id.reset(token)
    assert line["message"] == "hello world"
    assert line["correlation_id"] == "corr-1"
    assert line["queue"] == "ingest.sla"
    assert "correlation_id" not in json.loads(JsonFormatter().format(record))


def test_a_url_token_never_reaches_a_log_line() -> None:
    secret = "whsec_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ubw=="
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "POST", f"/api/v1/ingest/splunk?token={secret}&x=1", "1.1", 202),
        None,
    )
    client = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s", (f"?token={secret[:20]}",), None
    )
    client.url = f"https://rampart.example/api/v1/ingest/s?token={secret}"
    for formatter in (JsonFormatter(), TextFormatter()):
        for record in (access, client):
            line = formatter.format(record)
            assert secret[:20] not in line, line
            assert "[redacted]" in line
    assert "x=1" in JsonFormatter().format(access), "only the secret is cut out"


def test_the_bus_takes_the_brokers_message_size_limit_from_the_settings() -> None:
    from rampart.core.runtime import make_bus

    bus = make_bus(Settings(bus_max_message_bytes=65_536))
    assert bus.max_message_bytes == 65_536
    assert make_bus(Settings()).max_message_bytes == 16 * 1024 * 1024
