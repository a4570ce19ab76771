"""ArcSight: CEF lines (over HTTP as text, or from syslog) into normalized events."""

from __future__ import annotations

import hashlib
from typing import Any

from rampart.ingest.adapters import cef
from rampart.ingest.adapters._common import artifacts_from_fields, bounded, severity_of
from rampart.ingest.events.normalized import NormalizedEvent, PayloadError, clean_text, parse_time
from rampart.ingest.sources.config import SourceConfig

_TIME_FIELDS = ("rt", "end", "start")


def event_from_line(
    line: str, source: SourceConfig, *, line_number: int | None = None
) -> NormalizedEvent | PayloadError:
    """One CEF line as an event; its ``externalId`` (or a digest of the line) de-duplicates."""
    where = f"line {line_number}" if line_number is not None else "line"
    try:
        record = cef.parse(line)
    except cef.CefError as exc:
        return PayloadError(where, str(exc))
    ext = record.extensions
    occurred = None
    for key in _TIME_FIELDS:
        if ext.get(key):
            try:
                occurred = parse_time(ext[key])
            except ValueError:
                continue
            break
    reference = ext.get("externalId") or ext.get("eventId")
    if not reference:
        text = line[line.find("CEF:") :].strip()
        reference = "cef:" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    data: dict[str, Any] = {
        "cef": clean_text(line.strip()),
        "header": {
            "version": record.version,
            "deviceVendor": record.vendor,
            "deviceProduct": record.product,
            "deviceVersion": record.device_version,
            "deviceEventClassId": record.signature,
            "name": record.name,
            "severity": record.severity,
        },
        "extensions": ext,
    }
    return NormalizedEvent(
        name=record.name,
        source=source.name,
        source_ref=reference,
        severity=severity_of(record.severity.strip() or None, source),
        occurred_at=occurred,
        labels=list(source.default_labels),
        data=data,
        artifacts=artifacts_from_fields(record.name, record.fields()),
    )


def events_from_text(
    text: str, source: SourceConfig, *, max_events: int
) -> list[tuple[int, NormalizedEvent | PayloadError]]:
    """Every non-empty line, with its 1-based line number."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    return [
        (number, event_from_line(line, source, line_number=number))
        for number, line in bounded(lines, max_events)
    ]


def events_from_json(
    payload: Any, source: SourceConfig, *, max_events: int
) -> list[NormalizedEvent | PayloadError]:
    """A JSON body for ArcSight is a CEF line or a list of them."""
    items = bounded(payload if isinstance(payload, list) else [payload], max_events)
    out: list[NormalizedEvent | PayloadError] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            out.append(PayloadError(f"[{i}]", "an ArcSight JSON body holds CEF lines as strings"))
        else:
            out.append(event_from_line(item, source, line_number=None))
    return out
