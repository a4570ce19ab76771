"""The message base class and the registry from CloudEvents ``type`` to model."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_TYPE = re.compile(
    r"^rampart\.(?P<key>[a-z][a-z_]*(?:\.[a-z][a-z_]*)+)\.v(?P<version>[1-9][0-9]*)$"
)
_REGISTRY: dict[str, type[Message]] = {}


class UnknownMessageType(LookupError):
    """Raised for a CloudEvents ``type`` that no model is registered for."""


class Message(BaseModel):
    """Base of every message's ``data``: frozen, no unknown fields, one versioned type name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_type: ClassVar[str]
    routing_topic: ClassVar[str | None] = None
    """A field whose value is published after the routing key (``action.dispatched.ssh``)."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        name = cls.__dict__.get("message_type")
        if name is None:
            return
        if not _TYPE.match(name):
            raise ValueError(f"message type {name!r} is not of the form rampart.<topic>.v<N>")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"message type {name!r} is registered twice")
        _REGISTRY[name] = cls


def routing_key(message_type: str) -> str:
    """Topic of a type: ``rampart.action.requested.v1`` → ``action.requested``."""
    match = _TYPE.match(message_type)
    if match is None:
        raise UnknownMessageType(f"{message_type!r} is not a Rampart message type")
    return match["key"]


def message_model(message_type: str) -> type[Message]:
    """Look up the model registered for a CloudEvents ``type``."""
    try:
        return _REGISTRY[message_type]
    except KeyError:
        raise UnknownMessageType(f"no message model for type {message_type!r}") from None


def message_types() -> dict[str, type[Message]]:
    """Every registered message type, sorted by name."""
    return dict(sorted(_REGISTRY.items()))
