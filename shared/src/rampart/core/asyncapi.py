"""An AsyncAPI 3.0 document of every message type on the bus."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from rampart.core.envelope import Envelope
from rampart.core.messages import message_types, routing_key


def _camel(message_type: str) -> str:
    return "".join(part.capitalize() for part in routing_key(message_type).split(".")) + (
        "V" + message_type.rsplit(".v", 1)[1]
    )


def asyncapi_document(*, version: str = "0.1.0", exchange: str = "rampart") -> dict[str, Any]:
    """Describe the topic exchange, one channel per routing key, one message per type."""
    envelope_schema = TypeAdapter(Envelope).json_schema()
    envelope_schema["properties"].pop("data", None)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEventsEnvelope": envelope_schema}
    messages: dict[str, Any] = {}
    for message_type, model in message_types().items():
        name = _camel(message_type)
        key = routing_key(message_type)
        data_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for def_name, definition in data_schema.pop("$defs", {}).items():
            schemas[def_name] = definition
        schemas[name] = data_schema
        messages[name] = {
            "name": message_type,
            "title": message_type,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/cloudevents+json",
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventsEnvelope"},
                    {
                        "type": "object",
                        "required": ["type", "data"],
                        "properties": {
                            "type": {"const": message_type},
                            "data": {"$ref": f"#/components/schemas/{name}"},
                        },
                    },
                ]
            },
        }
        channel_id = key.replace(".", "_")
        channel: dict[str, Any] = {
            "address": key,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": exchange, "type": "topic", "durable": True},
                }
            },
        }
        binding = key
        topic = model.routing_topic
        if topic is not None:
            # published to <key>.<the field's value>: one routing key per value
            channel["address"] = f"{key}.{{{topic}}}"
            channel["parameters"] = {
                topic: {"description": f"the message's {topic!r}, as published"}
            }
            binding = f"{key}.*"
        channels[channel_id] = channel
        operations[f"receive_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Bind a queue to '{exchange}' with routing key '{binding}' to receive it.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Rampart bus",
            "version": version,
            "description": "Every message Rampart publishes on its topic exchange, as CloudEvents "
            "1.0 in structured JSON mode. Subscribe by binding your own queue to the exchange.",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
