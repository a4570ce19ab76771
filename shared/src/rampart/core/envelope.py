"""The CloudEvents 1.0 envelope (structured JSON mode) that every bus message travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rampart.core.ids import uuid7
from rampart.core.messages import Message, routing_key


def _now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """A CloudEvents 1.0 event plus Rampart's tracing extensions."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=lambda: str(uuid7()), min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500)
    type: str = Field(min_length=1, max_length=200)
    time: datetime = Field(default_factory=_now)
    subject: str | None = Field(default=None, max_length=500)
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    correlationid: str | None = Field(default=None, max_length=200)
    causationid: str | None = Field(default=None, max_length=200)
    traceparent: str | None = Field(default=None, max_length=200)

    @classmethod
    def wrap(
        cls,
        message: Message,
        *,
        source: str,
        subject: str | None = None,
        cause: Envelope | None = None,
        correlation_id: str | None = None,
    ) -> Envelope:
        """Wrap a typed message, carrying the correlation of the envelope that caused it."""
        new_id = str(uuid7())
        if cause is not None:
            correlation = cause.correlationid or cause.id
            causation: str | None = cause.id
            traceparent = cause.traceparent
        else:
            correlation = correlation_id or new_id
            causation = None
            traceparent = None
        return cls(
            id=new_id,
            source=source,
            type=message.message_type,
            subject=subject,
            data=message.model_dump(mode="json"),
            correlationid=correlation,
            causationid=causation,
            traceparent=traceparent,
        )

    @property
    def routing_key(self) -> str:
        """The topic this envelope is published under, e.g. ``action.requested``."""
        return routing_key(self.type)

    def to_bytes(self) -> bytes:
        """Serialise as CloudEvents structured-mode JSON."""
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        """Parse CloudEvents structured-mode JSON; raises ``pydantic.ValidationError``."""
        return cls.model_validate_json(body)
