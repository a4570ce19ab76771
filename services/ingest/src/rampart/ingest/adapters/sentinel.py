"""Microsoft Sentinel: incidents as the Azure REST API returns them.

``GET .../providers/Microsoft.SecurityInsights/incidents/{incidentId}`` answers one
``Microsoft.SecurityInsights/incidents`` resource (``id``, ``name``, ``type``, ``etag`` and
``properties`` with ``title``, ``severity``, ``status``, ``incidentNumber``, ``labels``,
``firstActivityTimeUtc``, ``createdTimeUtc``, ``owner``, ``additionalData``, ...); the list
operation answers ``{"value": [incident, ...], "nextLink"}``. Either, or a JSON array of
incidents (what a Logic App forwarding them posts), is read here.
"""

from __future__ import annotations

from typing import Any

from rampart.ingest.adapters._common import bounded, severity_of
from rampart.ingest.events.normalized import NormalizedEvent, PayloadError, parse_time
from rampart.ingest.sources.config import SourceConfig

RESOURCE_TYPE = "Microsoft.SecurityInsights/incidents"


def events_from_json(
    payload: Any, source: SourceConfig, *, max_events: int
) -> list[NormalizedEvent | PayloadError]:
    """One event per incident: a resource, a list response's ``value``, or an array."""
    if isinstance(payload, dict) and isinstance(payload.get("value"), list):
        items, at = payload["value"], "value"
    elif isinstance(payload, list):
        items, at = payload, ""
    else:
        return [incident_event(payload, source, where="")]
    return [
        incident_event(item, source, where=f"{at}[{i}].")
        for i, item in enumerate(bounded(items, max_events))
    ]


def incident_event(
    incident: Any, source: SourceConfig, *, where: str
) -> NormalizedEvent | PayloadError:
    """An incident resource as a normalized event; its resource name (a GUID) de-duplicates."""
    if not isinstance(incident, dict) or not isinstance(incident.get("properties"), dict):
        return PayloadError(
            where.rstrip(".") or "body", f"a {RESOURCE_TYPE} resource has properties"
        )
    kind = incident.get("type")
    if kind is not None and str(kind).lower() != RESOURCE_TYPE.lower():
        return PayloadError(f"{where}type", f"{str(kind)[:80]!r} is not {RESOURCE_TYPE}")
    props: dict[str, Any] = incident["properties"]
    reference = incident.get("name") or incident.get("id")
    if not isinstance(reference, str) or not reference.strip():
        return PayloadError(f"{where}name", "an incident needs its name (the incident id)")
    title = props.get("title")
    number = props.get("incidentNumber")
    if not isinstance(title, str) or not title.strip():
        title = f"Sentinel incident {number}" if number is not None else "Sentinel incident"
    try:
        occurred = parse_time(props.get("firstActivityTimeUtc") or props.get("createdTimeUtc"))
    except ValueError as exc:
        return PayloadError(f"{where}properties.firstActivityTimeUtc", str(exc))
    labels = list(source.default_labels)
    for label in props.get("labels") or []:
        if isinstance(label, dict) and isinstance(label.get("labelName"), str):
            labels.append(label["labelName"])
    # the incident resource names no observables (its entities are a separate call): the
    # owner is the analyst it is assigned to and the URL Sentinel's own portal, so no artifacts
    return NormalizedEvent(
        name=title,
        source=source.name,
        source_ref=reference.strip(),
        severity=severity_of(props.get("severity"), source),
        occurred_at=occurred,
        labels=labels,
        data=incident,
    )
