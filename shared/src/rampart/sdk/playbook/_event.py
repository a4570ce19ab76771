"""The event a playbook runs on, as playbook code sees it: severity, status, labels, artifacts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from rampart.core.vocabulary import CEF_CONTAINS, EventStatus, Severity

__all__ = ["Artifact", "Event"]


@dataclass(frozen=True, slots=True)
class Artifact:
    """An observable inside an event: CEF fields and the ``contains`` types of each field."""

    cef: Mapping[str, Any]
    contains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    name: str = ""

    def fields_with(self, contains: str) -> list[str]:
        """The CEF field names whose value is of the ``contains`` type (``"ip"``, ...)."""
        return [f for f in self.cef if contains in self.types_of(f)]

    def types_of(self, cef_field: str) -> tuple[str, ...]:
        """The ``contains`` types of one field: declared by the source, else the CEF default."""
        if cef_field in self.contains:
            return self.contains[cef_field]
        return CEF_CONTAINS.get(cef_field, ())

    def values(self, contains: str) -> list[Any]:
        """The values of this artifact's fields of the ``contains`` type."""
        return [self.cef[f] for f in self.fields_with(contains) if self.cef[f] not in (None, "")]

    def has(self, contains: str) -> bool:
        """Whether a field of this artifact holds a value of the ``contains`` type."""
        return bool(self.values(contains))


@dataclass(frozen=True, slots=True)
class Event:
    """One security event as a playbook sees it: fixed for the whole run (replay needs that)."""

    id: UUID
    name: str
    severity: Severity
    labels: tuple[str, ...] = ()
    status: EventStatus = EventStatus.NEW
    source: str = ""
    source_ref: str | None = None
    owner: str | None = None
    occurred_at: datetime | None = None
    due_at: datetime | None = None
    artifacts: tuple[Artifact, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def artifacts_with(self, contains: str) -> list[Artifact]:
        """The artifacts that hold a value of the ``contains`` type (``"process id"``, ...)."""
        return [a for a in self.artifacts if a.has(contains)]

    def values(self, contains: str) -> list[Any]:
        """Every distinct value of the ``contains`` type in the artifacts, first seen first."""
        seen: dict[str, Any] = {}
        for artifact in self.artifacts:
            for value in artifact.values(contains):
                seen.setdefault(repr(value), value)
        return list(seen.values())

    def has_label(self, *labels: str) -> bool:
        """Whether the event carries any of ``labels``."""
        return any(label in self.labels for label in labels)

    def __iter__(self) -> Iterator[Artifact]:
        return iter(self.artifacts)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Event:
        """Build an event from the engine's JSON snapshot of it."""
        return cls(
            id=UUID(str(value["id"])),
            name=str(value.get("name", "")),
            severity=Severity(value.get("severity", "medium")),
            labels=tuple(value.get("labels") or ()),
            status=EventStatus(value.get("status") or EventStatus.NEW),
            source=str(value.get("source") or ""),
            source_ref=value.get("source_ref"),
            owner=value.get("owner"),
            occurred_at=_time(value.get("occurred_at")),
            due_at=_time(value.get("due_at")),
            artifacts=tuple(_artifact(a) for a in value.get("artifacts") or ()),
            data=dict(value.get("data") or {}),
        )


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _artifact(value: Mapping[str, Any]) -> Artifact:
    contains = value.get("contains") or {}
    return Artifact(
        cef=dict(value.get("cef") or {}),
        contains={str(k): _types(v) for k, v in dict(contains).items()},
        name=str(value.get("name") or ""),
    )


def _types(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(v) for v in value)
    return ()
