"""Pieces every adapter shares: artifacts from fields, and the severity of a source."""

from __future__ import annotations

import ipaddress
from typing import Any

from rampart.core.vocabulary import SeverityName
from rampart.ingest.adapters.severity import map_severity
from rampart.ingest.events.normalized import MAX_ARTIFACTS, Artifact, make_artifact
from rampart.ingest.sources.config import SourceConfig


class TooManyEvents(ValueError):
    """A body holds more events than one request may carry; nothing of it was adapted."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} events in one request")
        self.limit = limit


def bounded(items: list[Any], max_events: int) -> list[Any]:
    """``items`` if there are at most ``max_events`` of them: counted before any is adapted."""
    if len(items) > max_events:
        raise TooManyEvents(max_events)
    return items


def artifacts_from_fields(
    name: str, fields: dict[str, Any], *, limit: int = MAX_ARTIFACTS
) -> list[Artifact]:
    """One artifact of the single-valued fields, and one per value of each list field.

    At most ``limit`` are built: a field of a million values costs the first ``limit``.
    """
    if limit <= 0:
        return []
    single: dict[str, Any] = {}
    multi: list[tuple[str, Any]] = []
    for key, value in fields.items():
        if isinstance(value, list):
            values = [v for v in value if v not in (None, "") and not isinstance(v, dict | list)]
            if len(values) == 1:
                single[key] = values[0]
            else:
                multi.extend((key, v) for v in values[:limit])
        elif value not in (None, "") and not isinstance(value, dict):
            single[key] = value
    out: list[Artifact] = []
    first = make_artifact(name, single)
    if first is not None:
        out.append(first)
    for key, value in multi:
        if len(out) >= limit:
            break
        artifact = make_artifact(name, {key: value})
        if artifact is not None:
            out.append(artifact)
    return out


def severity_of(value: Any, source: SourceConfig) -> SeverityName:
    """``value`` through the source's severity map, or the source's default."""
    return map_severity(value, severity_map=source.severity_map, default=source.default_severity)


def is_ip(value: Any) -> bool:
    """Whether a value is an IPv4 or IPv6 address."""
    text = str(value).strip()
    # most values are host names: skip the parser (and its exception) when it cannot match
    if not text or not (text[0].isdigit() or ":" in text):
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def address_or_host(value: Any, address_field: str, host_field: str) -> dict[str, Any]:
    """Put a value that may be an address or a host name under the right CEF field."""
    if value in (None, ""):
        return {}
    if isinstance(value, list):
        ips = [v for v in value if is_ip(v)]
        hosts = [v for v in value if not is_ip(v)]
        out: dict[str, Any] = {}
        if ips:
            out[address_field] = ips
        if hosts:
            out[host_field] = hosts
        return out
    return {address_field if is_ip(value) else host_field: value}
