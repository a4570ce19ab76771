"""Any JSON, read through the source's declarative mapping of JMESPath expressions."""

from __future__ import annotations

from typing import Any

from jmespath.exceptions import JMESPathError

from rampart.ingest.adapters._common import artifacts_from_fields, bounded, severity_of
from rampart.ingest.events.normalized import NormalizedEvent, PayloadError, parse_time
from rampart.ingest.sources.config import SourceConfig


def events_from_json(
    payload: Any, source: SourceConfig, *, max_events: int
) -> list[NormalizedEvent | PayloadError]:
    """The events the mapping finds in a body."""
    if "events" in source.compiled:
        found = _search(source, "events", payload)
        if isinstance(found, PayloadError):
            return [found]
        if not isinstance(found, list):
            return [PayloadError("mapping.events", "the expression did not find a list")]
        found = bounded(found, max_events)
        return [_one(item, source, f"events[{i}]") for i, item in enumerate(found)]
    if isinstance(payload, list):
        items = bounded(payload, max_events)
        return [_one(item, source, f"[{i}]") for i, item in enumerate(items)]
    return [_one(payload, source, "")]


def _search(source: SourceConfig, name: str, data: Any) -> Any:
    try:
        return source.expression(name).search(data)
    except (JMESPathError, TypeError, ValueError, KeyError, AttributeError) as exc:
        # a runtime type error of a JMESPath function is a payload the mapping cannot read
        return PayloadError(f"mapping.{name}", f"the expression failed: {exc}")


def _one(item: Any, source: SourceConfig, where: str) -> NormalizedEvent | PayloadError:
    at = f" in {where}" if where else ""
    name = _search(source, "name", item)
    if isinstance(name, PayloadError):
        return name
    if isinstance(name, bool) or not isinstance(name, str | int | float) or not str(name).strip():
        return PayloadError("mapping.name", f"the expression found no text{at}")
    reference = None
    if "source_ref" in source.compiled:
        reference = _search(source, "source_ref", item)
        if isinstance(reference, PayloadError):
            return reference
        if isinstance(reference, dict | list | bool):
            return PayloadError("mapping.source_ref", f"the expression found no text{at}")
    severity_value = None
    if "severity" in source.compiled:
        severity_value = _search(source, "severity", item)
        if isinstance(severity_value, PayloadError):
            return severity_value
    occurred = None
    if "occurred_at" in source.compiled:
        raw_time = _search(source, "occurred_at", item)
        if isinstance(raw_time, PayloadError):
            return raw_time
        try:
            occurred = parse_time(raw_time)
        except ValueError as exc:
            return PayloadError("mapping.occurred_at", f"{exc}{at}")
    labels = list(source.default_labels)
    if "labels" in source.compiled:
        found = _search(source, "labels", item)
        if isinstance(found, PayloadError):
            return found
        labels.extend(found if isinstance(found, list) else [] if found is None else [found])
    fields: dict[str, Any] = {}
    for key in source.compiled:
        if key.startswith("artifacts."):
            value = _search(source, key, item)
            if isinstance(value, PayloadError):
                return value
            fields[key.removeprefix("artifacts.")] = value
    return NormalizedEvent(
        name=str(name),
        source=source.name,
        source_ref=None if reference is None else str(reference),
        severity=severity_of(severity_value, source),
        occurred_at=occurred,
        labels=labels,
        data=item if isinstance(item, dict) else {"value": item},
        artifacts=artifacts_from_fields(str(name), fields),
    )
