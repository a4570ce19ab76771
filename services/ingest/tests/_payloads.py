"""Payloads as the vendors send them, shared by the adapter and webhook tests.

- Splunk: "Use a webhook alert action" (Splunk Enterprise Alerting Manual,
  https://docs.splunk.com/Documentation/Splunk/latest/Alert/Webhooks) for the body
  ``{"result", "sid", "results_link", "search_name", "owner", "app"}`` (``SPLUNK_DOCS_ALERT``
  is its example exactly, ``search_name`` null), and the Enterprise Security notable fields
  (``rule_name``, ``urgency``, ``src``, ``dest``, ``user``, ``event_id``, ``orig_sid``,
  ``orig_rid``, ``event_hash``).
- IBM QRadar: the offense object of ``GET /api/siem/offenses`` (QRadar REST API reference).
- ArcSight: "Implementing ArcSight Common Event Format (CEF)" for the header and escapes.
"""

from __future__ import annotations

from typing import Any

SPLUNK_ALERT = {
    "result": {
        "sourcetype": "WinEventLog:Security",
        "count": "8",
        "src": "203.0.113.7",
        "dest": "web-01.corp.example.com",
        "user": "alice",
        "urgency": "high",
        "_time": "1700000000.000",
    },
    "sid": "scheduler__admin__search__W2_at_1427942640_178",
    "results_link": "http://splunk.example.local:8000/app/search/@go?sid=scheduler__admin__search__W2_at_1427942640_178",
    "search_name": "Brute force then success",
    "owner": "admin",
    "app": "search",
}

# the example of Splunk's "Use a webhook alert action" page, field for field
SPLUNK_DOCS_ALERT = {
    "result": {"sourcetype": "mongod", "count": "8"},
    "sid": "scheduler_admin_search_W2_at_14232356_132",
    "results_link": "http://web.example.local:8000/app/search/@go?sid=scheduler_admin_search_W2_at_14232356_132",
    "search_name": None,
    "owner": "admin",
    "app": "search",
}

ES_NOTABLE = {
    "rule_name": "Excessive Failed Logins",
    "rule_title": "Excessive Failed Logins from 198.51.100.23",
    "urgency": "critical",
    "security_domain": "access",
    "src": "198.51.100.23",
    "dest": "10.0.0.5",
    "user": "CORP\\bob",
    "event_id": "0A1B2C3D-1111-2222-3333-444455556666@@notable@@e2c3f1c2d4",
    "_time": "2024-05-01T10:00:00+00:00",
    "file_hash": "44d88612fea8a8f36de82e1278abb02f",
}

# the shape of one element of GET /api/siem/offenses
QRADAR_OFFENSE = {
    "id": 4242,
    "description": "Multiple Login Failures for the Same User\n containing Failure Audit",
    "assigned_to": None,
    "categories": ["User Login Failure", "Misc Login Failed"],
    "category_count": 2,
    "policy_category_count": 0,
    "security_category_count": 2,
    "close_time": None,
    "closing_user": None,
    "closing_reason_id": None,
    "credibility": 3,
    "relevance": 5,
    "severity": 8,
    "magnitude": 9,
    "destination_networks": ["Net-10-172-192.Net_10_0_0_0"],
    "source_network": "other",
    "device_count": 1,
    "event_count": 12,
    "flow_count": 0,
    "inactive": False,
    "last_updated_time": 1700000100000,
    "local_destination_count": 1,
    "offense_source": "192.0.2.44",
    "offense_type": 0,
    "protected": False,
    "follow_up": False,
    "remote_destination_count": 0,
    "source_count": 1,
    "start_time": 1700000000000,
    "status": "OPEN",
    "username_count": 1,
    "source_address_ids": [17],
    "local_destination_address_ids": [3],
    "domain_id": 0,
    "first_persisted_time": 1700000000500,
    "last_persisted_time": 1700000100500,
    "log_sources": [
        {"type_name": "EventCRE", "type_id": 18, "name": "Custom Rule Engine-8", "id": 63}
    ],
    "rules": [{"id": 100045, "type": "CRE_RULE"}],
}

CEF_LINES = (
    "CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 "
    "dst=2.1.2.2 spt=1232 externalId=tm-100\n"
    "CEF:0|Vendor\\|Inc|Prod\\\\uct|2.0|sig-7|Suspicious \\| process|Very-High|"
    "shost=ws-042 suser=CORP\\\\carol spid=4711 sproc=evil.exe "
    "fileHash=da39a3ee5e6b4b0d3255bfef95601890afd80709 msg=first line\\nsecond a\\=b "
    "cs1Label=Ticket cs1=INC 0042 request=https://bad.example.net/payload?x\\=1 "
    "externalId=tm-101\n"
)


def cef_values(artifacts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for artifact in artifacts:
        merged.update(artifact["cef"])
    return merged


def contains_by_field(artifacts: list[dict[str, Any]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for artifact in artifacts:
        merged.update(artifact["contains"])
    return merged
