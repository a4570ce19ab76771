"""Splunk: the webhook alert action body, and Enterprise Security notable events.

The webhook alert action posts ``{"result": {...}, "sid", "results_link", "search_name",
"owner", "app"}`` (``search_name`` is null for a search that was not saved, and the result row
carries whatever fields the search produced, often no rule name); a notable carries
``rule_name``, ``urgency``, ``src``, ``dest``, ``user`` and the other Common Information Model
fields, either as that ``result`` or on its own.
"""

from __future__ import annotations

from typing import Any

from rampart.ingest.adapters._common import (
    address_or_host,
    artifacts_from_fields,
    bounded,
    severity_of,
)
from rampart.ingest.events.normalized import (
    MAX_ARTIFACTS,
    NormalizedEvent,
    PayloadError,
    parse_time,
)
from rampart.ingest.sources.config import SourceConfig

# CIM field -> CEF field, for fields whose meaning does not depend on the value
_CIM_TO_CEF = {
    "user": "destinationUserName",
    "src_user": "sourceUserName",
    "src_port": "sourcePort",
    "dest_port": "destinationPort",
    "src_mac": "sourceMacAddress",
    "dest_mac": "destinationMacAddress",
    "src_nt_host": "sourceHostName",
    "dest_nt_host": "destinationHostName",
    "src_host": "sourceHostName",
    "dest_host": "destinationHostName",
    "url": "requestURL",
    "file_name": "fileName",
    "file_path": "filePath",
    "process": "sourceProcessName",
    "process_name": "sourceProcessName",
    "process_id": "sourceProcessId",
    "parent_process_id": "sourceProcessId",
    "query": "destinationDnsDomain",
    "signature": "deviceEventClassId",
    "action": "deviceAction",
    "protocol": "transportProtocol",
}
_HASH_FIELDS = ("file_hash", "sha256", "sha1", "md5")
# CIM fields whose value is an address or a host name: each one goes under the CEF field its
# value says, beside the others (``dest`` and ``dest_ip`` both become artifacts)
_ADDRESS_OR_HOST = (
    ("src", "sourceAddress", "sourceHostName"),
    ("src_ip", "sourceAddress", "sourceHostName"),
    ("dest", "destinationAddress", "destinationHostName"),
    ("dest_ip", "destinationAddress", "destinationHostName"),
    ("dvc", "deviceAddress", "deviceHostName"),
    ("dvc_ip", "deviceAddress", "deviceHostName"),
    ("host", "deviceAddress", "deviceHostName"),
)


def events_from_json(
    payload: Any, source: SourceConfig, *, max_events: int
) -> list[NormalizedEvent | PayloadError]:
    """One event per alert or notable; a list body holds several."""
    items = bounded(payload if isinstance(payload, list) else [payload], max_events)
    return [
        _one(item, source, f"[{i}]" if isinstance(payload, list) else "")
        for i, item in enumerate(items)
    ]


def _one(item: Any, source: SourceConfig, where: str) -> NormalizedEvent | PayloadError:
    if not isinstance(item, dict):
        return PayloadError(where or "body", "a Splunk alert or notable is a JSON object")
    if "result" in item:
        result = item["result"]
        if not isinstance(result, dict):
            return PayloadError(f"{where}result", "must be an object of the result's fields")
        name = (
            _first(result, "rule_name", "rule_title", "search_name")
            or item.get("search_name")
            or _unsaved_search_name(item)
        )
        # an alert's result row: a notable's identifiers, else this alert's search id
        reference = notable_reference(result, stored=False) or item.get("sid")
    else:
        result = item
        name = _first(item, "rule_name", "rule_title", "search_name", "source")
        reference = notable_reference(item) or _first(item, "sid")
    if not isinstance(name, str | int | float) or not str(name).strip():
        field = f"{where}result.rule_name" if "result" in item else f"{where}rule_name"
        return PayloadError(f"{field} or {where}search_name", "is missing")
    if reference is not None and not isinstance(reference, str | int):
        return PayloadError(f"{where}sid", "must be a string")
    try:
        occurred = parse_time(_first(result, "_time", "orig_time"))
    except ValueError as exc:
        return PayloadError(
            f"{where}result._time" if "result" in item else f"{where}_time", str(exc)
        )
    severity = severity_of(_first(result, "urgency", "severity"), source)
    return NormalizedEvent(
        name=str(name),
        source=source.name,
        source_ref=None if reference is None else str(reference),
        severity=severity,
        occurred_at=occurred,
        labels=list(source.default_labels),
        data=item,
        artifacts=artifacts_from_fields(str(name), cef_fields(result)),
    )


def _unsaved_search_name(item: dict[str, Any]) -> str:
    """A name for the alert of a search that was not saved (``search_name`` null)."""
    app, owner = item.get("app"), item.get("owner")
    where = "/".join(str(v) for v in (app, owner) if isinstance(v, str | int) and str(v).strip())
    return f"Splunk alert ({where})" if where else "Splunk alert"


def notable_reference(fields: dict[str, Any], *, stored: bool = True) -> str | None:
    """A stable reference of a notable from Splunk's own identifiers, so a resend merges.

    ``event_id`` when ES gave one; else the notable's ``event_hash``; else the search and result
    it came from (``orig_sid`` with ``orig_rid``); else, when ``stored``, where Splunk stored
    it (``index``, ``_bkt`` and ``_cd``). None when the payload carries none of them.
    """
    event_id = _first(fields, "event_id")
    if isinstance(event_id, str | int) and not isinstance(event_id, bool):
        return str(event_id)
    event_hash = _first(fields, "event_hash")
    if isinstance(event_hash, str) and event_hash.strip():
        return f"event_hash:{event_hash}"
    parts = [_first(fields, key) for key in ("orig_sid", "orig_rid")]
    if all(isinstance(p, str | int) and not isinstance(p, bool) for p in parts):
        return f"orig:{parts[0]}:{parts[1]}"
    address = [_first(fields, key) for key in ("index", "_bkt", "_cd")]
    if stored and all(isinstance(p, str | int) and not isinstance(p, bool) for p in address[1:]):
        return "cd:" + ":".join(str(p) for p in address if p is not None)
    return None


def _first(fields: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return value[0] if isinstance(value, list) and len(value) == 1 else value
    return None


def _add(out: dict[str, Any], field: str, value: Any) -> None:
    """Put ``value`` (one or a list) under ``field`` beside what is there, without repeats."""
    values = value if isinstance(value, list) else [value]
    there = out.get(field)
    merged = [] if there is None else there if isinstance(there, list) else [there]
    for v in values:
        if v not in (None, "") and v not in merged and len(merged) < MAX_ARTIFACTS:
            merged.append(v)
    if merged:
        out[field] = merged[0] if len(merged) == 1 else merged


def cef_fields(result: dict[str, Any]) -> dict[str, Any]:
    """Every CIM field of a result that maps to a CEF field, under its CEF name."""
    out: dict[str, Any] = {}
    for cim, address_field, host_field in _ADDRESS_OR_HOST:
        for cef, value in address_or_host(result.get(cim), address_field, host_field).items():
            _add(out, cef, value)
    for cim, cef in _CIM_TO_CEF.items():
        _add(out, cef, result.get(cim))
    for hash_field in _HASH_FIELDS:
        _add(out, "fileHash", result.get(hash_field))
    return out
