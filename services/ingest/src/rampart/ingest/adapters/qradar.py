"""IBM QRadar: offense objects as ``GET /api/siem/offenses`` returns them.

An offense carries ``id``, ``description``, ``magnitude`` (1-10, from ``severity``,
``credibility`` and ``relevance``), ``offense_type`` with ``offense_source``, ``categories``,
``source_address_ids`` and ``local_destination_address_ids``, and times in epoch
milliseconds (``start_time``, ``last_updated_time``).
"""

from __future__ import annotations

import re
from typing import Any

from rampart.ingest.adapters._common import artifacts_from_fields, bounded, severity_of
from rampart.ingest.events.normalized import (
    MAX_ARTIFACTS,
    NormalizedEvent,
    PayloadError,
    parse_time,
)
from rampart.ingest.sources.config import SourceConfig

# the built-in offense types (GET /api/siem/offense_types) whose source is an observable
OFFENSE_SOURCE_FIELD = {
    0: "sourceAddress",
    1: "destinationAddress",
    3: "destinationUserName",
    4: "sourceMacAddress",
    5: "destinationMacAddress",
    7: "sourceHostName",
    8: "sourcePort",
    9: "destinationPort",
    10: "sourceAddress",
    11: "destinationAddress",
}
_SPACES = re.compile(r"\s+")


def events_from_json(
    payload: Any, source: SourceConfig, *, max_events: int
) -> list[NormalizedEvent | PayloadError]:
    """One event per offense; a list body holds several."""
    if isinstance(payload, list):
        offenses = bounded(payload, max_events)
        return [offense_event(item, source, where=f"[{i}]") for i, item in enumerate(offenses)]
    return [offense_event(payload, source)]


def offense_event(
    offense: Any,
    source: SourceConfig,
    *,
    where: str = "",
    source_ips: list[str] | None = None,
    destination_ips: list[str] | None = None,
) -> NormalizedEvent | PayloadError:
    """An offense as a normalized event; the poller passes the addresses it looked up."""
    if not isinstance(offense, dict):
        return PayloadError(where or "body", "a QRadar offense is a JSON object")
    offense_id = offense.get("id")
    if isinstance(offense_id, bool) or not isinstance(offense_id, int | str) or offense_id == "":
        return PayloadError(f"{where}id", "an offense needs its numeric id")
    description = offense.get("description")
    name = _SPACES.sub(" ", description).strip() if isinstance(description, str) else ""
    magnitude = offense.get("magnitude")
    try:
        occurred = parse_time(offense.get("start_time"))
    except ValueError as exc:
        return PayloadError(f"{where}start_time", str(exc))
    return NormalizedEvent(
        name=name or f"QRadar offense {offense_id}",
        source=source.name,
        source_ref=str(offense_id),
        severity=severity_of(magnitude, source),
        occurred_at=occurred,
        labels=list(source.default_labels),
        data=offense,
        artifacts=_artifacts(offense, name, source_ips or [], destination_ips or []),
    )


def _artifacts(
    offense: dict[str, Any], name: str, source_ips: list[str], destination_ips: list[str]
) -> list[Any]:
    label = name or "QRadar offense"
    fields: dict[str, Any] = {}
    offense_type = offense.get("offense_type")
    offense_source = offense.get("offense_source")
    if isinstance(offense_type, int) and offense_type in OFFENSE_SOURCE_FIELD and offense_source:
        fields[OFFENSE_SOURCE_FIELD[offense_type]] = offense_source
    out = artifacts_from_fields(label, fields)
    looked_up = [("sourceAddress", ip) for ip in source_ips]
    looked_up += [("destinationAddress", ip) for ip in destination_ips]
    for field, ip in looked_up:
        if len(out) >= MAX_ARTIFACTS:
            break
        if ip != fields.get(field):
            out.extend(artifacts_from_fields(label, {field: ip}, limit=MAX_ARTIFACTS - len(out)))
    return out
