"""Splunk: the webhook alert action body, and Enterprise Security notable events.

The webhook alert action posts ``{"result": {...}, "sid", "results_link", "search_name",
"owner", "app"}``; a notable carries ``rule_name``, ``urgency``, ``src``, ``dest``, ``user``
and the other Common Information Model fields, either as that ``result`` or on its own.
"""

from __future__ import annotations

from typing import Any

from rampart.ingest.adapters._common import (
    address_or_host,
    artifacts_from_fields,
    bounded,
    severity_of,
)
from rampart.ingest.events.normalized import NormalizedEvent, PayloadError, parse_time
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
    "file_hash": "fileHash",
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
        name = _first(result, "rule_name", "rule_title") or item.get("search_name")
        reference = _first(result, "event_id") or item.get("sid")
    else:
        result = item
        name = _first(item, "rule_name", "rule_title", "search_name")
        reference = _first(item, "event_id", "sid")
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


def _first(fields: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return value[0] if isinstance(value, list) and len(value) == 1 else value
    return None


def cef_fields(result: dict[str, Any]) -> dict[str, Any]:
    """The CIM fields of a result under CEF names."""
    out: dict[str, Any] = {}
    out.update(address_or_host(_first(result, "src", "src_ip"), "sourceAddress", "sourceHostName"))
    out.update(
        address_or_host(
            _first(result, "dest", "dest_ip"), "destinationAddress", "destinationHostName"
        )
    )
    out.update(address_or_host(_first(result, "dvc", "host"), "deviceAddress", "deviceHostName"))
    for cim, cef in _CIM_TO_CEF.items():
        if cim in _HASH_FIELDS:
            continue
        value = result.get(cim)
        if value not in (None, "") and cef not in out:
            out[cef] = value
    hashes = [result[h] for h in _HASH_FIELDS if result.get(h) not in (None, "")]
    if hashes:
        flat = [v for h in hashes for v in (h if isinstance(h, list) else [h])]
        out["fileHash"] = flat[0] if len(flat) == 1 else flat
    return out
