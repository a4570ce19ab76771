"""Elastic Security: detection alerts as Elasticsearch stores and returns them.

Alerts live in ``.alerts-security.alerts-<space>`` with the fields of Elastic's alert schema:
``kibana.alert.uuid``, ``kibana.alert.rule.name``, ``kibana.alert.severity``
(``low``/``medium``/``high``/``critical``), ``kibana.alert.risk_score``,
``kibana.alert.original_time``, ``@timestamp`` and the ECS fields copied from the source
event (``source.ip``, ``destination.ip``, ``host.name``, ``user.name``, ``process.*``,
``file.hash.*``, ``url.full``, ``dns.question.name``). A document may come nested
(``_source``), flattened with dotted keys, or as the search API's ``fields`` (every value an
array). A body is one alert, an array of alerts, a search hit or a whole search response
(``hits.hits``).
"""

from __future__ import annotations

from typing import Any

from rampart.ingest.adapters._common import artifacts_from_fields, bounded, severity_of
from rampart.ingest.events.normalized import NormalizedEvent, PayloadError, parse_time
from rampart.ingest.sources.config import SourceConfig

# ECS field -> CEF field
ECS_TO_CEF = {
    "source.ip": "sourceAddress",
    "source.port": "sourcePort",
    "source.domain": "sourceHostName",
    "destination.ip": "destinationAddress",
    "destination.port": "destinationPort",
    "destination.domain": "destinationHostName",
    "host.name": "deviceHostName",
    "host.ip": "deviceAddress",
    "user.name": "destinationUserName",
    "process.name": "sourceProcessName",
    "process.pid": "sourceProcessId",
    "process.executable": "filePath",
    "file.name": "fileName",
    "file.path": "filePath",
    "file.hash.md5": "fileHash",
    "file.hash.sha1": "fileHash",
    "file.hash.sha256": "fileHash",
    "process.hash.sha256": "fileHash",
    "url.full": "requestURL",
    "dns.question.name": "destinationDnsDomain",
}


def events_from_json(
    payload: Any, source: SourceConfig, *, max_events: int
) -> list[NormalizedEvent | PayloadError]:
    """One event per alert of the body."""
    hits = _get(payload, "hits.hits", single=False) if isinstance(payload, dict) else None
    if isinstance(hits, list):
        items, at = hits, "hits.hits"
    elif isinstance(payload, list):
        items, at = payload, ""
    else:
        return [alert_event(payload, source, where="")]
    return [
        alert_event(item, source, where=f"{at}[{i}].")
        for i, item in enumerate(bounded(items, max_events))
    ]


def _document(item: dict[str, Any]) -> dict[str, Any]:
    """The alert's fields, whether the item is a search hit or the document itself."""
    for key in ("fields", "_source"):
        inner = item.get(key)
        if isinstance(inner, dict) and ("_id" in item or "_index" in item):
            return inner
    return item


def _get(document: Any, path: str, *, single: bool = True) -> Any:
    """``path`` as a dotted key, or nested objects, or a mix; one-element arrays unwrapped."""
    if not isinstance(document, dict):
        return None
    if path in document:
        value = document[path]
    else:
        value = None
        head, _, rest = path.partition(".")
        while rest:
            if head in document:
                value = _get(document[head], rest, single=False)
                if value is not None:
                    break
            nxt, _, rest = rest.partition(".")
            head = f"{head}.{nxt}"
    if single and isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def alert_event(item: Any, source: SourceConfig, *, where: str) -> NormalizedEvent | PayloadError:
    """An alert document as a normalized event; ``kibana.alert.uuid`` de-duplicates."""
    if not isinstance(item, dict):
        return PayloadError(where.rstrip(".") or "body", "an Elastic alert is a JSON object")
    document = _document(item)
    name = _get(document, "kibana.alert.rule.name")
    if not isinstance(name, str) or not name.strip():
        return PayloadError(f"{where}kibana.alert.rule.name", "is missing")
    reference = _get(document, "kibana.alert.uuid") or item.get("_id")
    if reference is not None and not isinstance(reference, str | int):
        return PayloadError(f"{where}kibana.alert.uuid", "must be a string")
    try:
        occurred = parse_time(
            _get(document, "kibana.alert.original_time") or _get(document, "@timestamp")
        )
    except ValueError as exc:
        return PayloadError(f"{where}kibana.alert.original_time", str(exc))
    labels = list(source.default_labels)
    tags = _get(document, "kibana.alert.rule.tags", single=False)
    labels.extend(tags if isinstance(tags, list) else [] if tags is None else [tags])
    fields: dict[str, Any] = {}
    for ecs, cef in ECS_TO_CEF.items():
        value = _get(document, ecs, single=False)
        if value in (None, "", []):
            continue
        values = value if isinstance(value, list) else [value]
        there = fields.get(cef)
        merged = [] if there is None else there if isinstance(there, list) else [there]
        merged.extend(v for v in values if v not in merged)
        fields[cef] = merged[0] if len(merged) == 1 else merged
    severity = _get(document, "kibana.alert.severity") or _get(document, "kibana.alert.risk_score")
    return NormalizedEvent(
        name=name,
        source=source.name,
        source_ref=None if reference is None else str(reference),
        severity=severity_of(severity, source),
        occurred_at=occurred,
        labels=labels,
        data=item,
        artifacts=artifacts_from_fields(name, fields),
    )
