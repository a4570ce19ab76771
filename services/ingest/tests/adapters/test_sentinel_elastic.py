"""Microsoft Sentinel incidents and Elastic Security alerts through the webhook.

- Sentinel: the ``Microsoft.SecurityInsights/incidents`` resource exactly as the Azure REST API
  reference's "Incidents - Get" example answers it (azure-rest-api-specs,
  ``specification/securityinsights/.../stable/2024-03-01/examples/incidents/
  GetIncidentById.json``; learn.microsoft.com/en-us/rest/api/securityinsights/incidents/get),
  and the list operation's ``{"value": [...]}`` envelope.
- Elastic: the envelope of ``POST /api/detection_engine/signals/search`` (an Elasticsearch
  search response, https://www.elastic.co/docs/api/doc/kibana/operation/operation-searchalerts)
  with alert documents holding the fields of Elastic's alert schema
  (https://www.elastic.co/guide/en/security/current/alert-schema.html: ``kibana.alert.uuid``,
  ``kibana.alert.rule.name``, ``kibana.alert.severity``, ``kibana.alert.risk_score``,
  ``kibana.alert.original_time`` and ECS fields copied from the source event). Elastic
  publishes the schema and the envelope but no filled-in alert, so the documents are built from
  the schema's field names; one is nested ``_source``, one the search API's ``fields`` form.
"""

from __future__ import annotations

import copy
from typing import Any

from services.ingest.tests._ingest_api import Ingest

SENTINEL_INCIDENT: dict[str, Any] = {
    "id": "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5",  # noqa: E501
    "name": "73e01a99-5cd7-4139-a149-9f2736ff2ab5",
    "type": "Microsoft.SecurityInsights/incidents",
    "etag": '"0300bf09-0000-0000-0000-5c37296e0000"',
    "properties": {
        "lastModifiedTimeUtc": "2019-01-01T13:15:30Z",
        "createdTimeUtc": "2019-01-01T13:15:30Z",
        "lastActivityTimeUtc": "2019-01-01T13:05:30Z",
        "firstActivityTimeUtc": "2019-01-01T13:00:30Z",
        "description": "This is a demo incident",
        "title": "My incident",
        "owner": {
            "objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70",
            "email": "john.doe@contoso.com",
            "userPrincipalName": "john@contoso.com",
            "assignedTo": "john doe",
        },
        "severity": "High",
        "classification": "FalsePositive",
        "classificationComment": "Not a malicious activity",
        "classificationReason": "InaccurateData",
        "status": "Closed",
        "incidentUrl": "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/incidents/73e01a99-5cd7-4139-a149-9f2736ff2ab5",
        "incidentNumber": 3177,
        "labels": [],
        "providerName": "Azure Sentinel",
        "providerIncidentId": "3177",
        "relatedAnalyticRuleIds": [
            "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/alertRules/fab3d2d4-747f-46a7-8ef0-9c0be8112bf7"
        ],
        "additionalData": {
            "alertsCount": 0,
            "bookmarksCount": 0,
            "commentsCount": 3,
            "alertProductNames": [],
            "tactics": ["InitialAccess", "Persistence"],
        },
    },
}


async def test_a_sentinel_incident_as_the_azure_api_returns_it(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="sentinel", default_labels=["sentinel"])
    response = await ingest.post_signed(source, SENTINEL_INCIDENT)
    assert response.status_code == 202, response.text
    [made] = response.json()["events"]
    event = await ingest.event(made["id"])
    assert event["name"] == "My incident"
    assert event["severity"] == "high"
    assert event["source_ref"] == "73e01a99-5cd7-4139-a149-9f2736ff2ab5"
    assert event["occurred_at"].startswith("2019-01-01T13:00:30")
    assert event["labels"] == ["sentinel"]
    assert event["data"] == SENTINEL_INCIDENT

    # the list operation's envelope, with the same incident relabelled: one event, merged
    listed = copy.deepcopy(SENTINEL_INCIDENT)
    listed["properties"]["labels"] = [{"labelName": "vip", "labelType": "User"}]
    other = copy.deepcopy(SENTINEL_INCIDENT)
    other["name"] = other["properties"]["providerIncidentId"] = (
        "5e0f3a55-1b2c-4d3e-8f9a-0b1c2d3e4f5a"
    )
    other["properties"]["severity"] = "Informational"
    del other["properties"]["title"]
    page = {"value": [listed, other], "nextLink": None}
    again = await ingest.post_signed(source, page)
    assert again.status_code == 202, again.text
    first, second = again.json()["events"]
    assert first == {"index": 0, "id": made["id"], "created": False}
    assert (await ingest.event(made["id"]))["labels"] == ["sentinel", "vip"]
    fallback = await ingest.event(second["id"])
    assert fallback["name"] == "Sentinel incident 3177"
    assert fallback["severity"] == "low"


async def test_a_sentinel_body_that_is_no_incident_names_the_field(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="sentinel")
    wrong_type = {**SENTINEL_INCIDENT, "type": "Microsoft.SecurityInsights/alertRules"}
    answer = await ingest.post_signed(source, [SENTINEL_INCIDENT, wrong_type, {"name": "x"}])
    assert answer.status_code == 202, answer.text
    assert [(e["index"], e["field"]) for e in answer.json()["errors"]] == [
        (1, "[1].type"),
        (2, "[2]"),
    ]


def _alert_source(uuid: str, severity: str) -> dict[str, Any]:
    return {
        "@timestamp": "2024-05-02T08:15:42.512Z",
        "kibana.alert.uuid": uuid,
        "kibana.alert.rule.name": "Suspicious PowerShell Download",
        "kibana.alert.rule.uuid": "3b9a0c7e-1f2d-4e5a-9b8c-7d6e5f4a3b2c",
        "kibana.alert.rule.tags": ["Windows", "Execution"],
        "kibana.alert.severity": severity,
        "kibana.alert.risk_score": 73,
        "kibana.alert.workflow_status": "open",
        "kibana.alert.reason": "process event on WS-042 created high alert Suspicious PowerShell Download.",  # noqa: E501
        "kibana.alert.original_time": "2024-05-02T08:14:59.000Z",
        "kibana.space_ids": ["default"],
        "event.kind": "signal",
        "host": {"name": "WS-042", "ip": ["10.20.1.42"]},
        "user": {"name": "jdoe"},
        "source": {"ip": "10.20.1.42", "port": 50123},
        "destination": {"ip": "203.0.113.80", "port": 443},
        "process": {"name": "powershell.exe", "pid": 4242},
        "file": {"hash": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},  # noqa: E501
        "url": {"full": "https://203.0.113.80/payload.ps1"},
    }  # fmt: skip


ELASTIC_SEARCH = {
    "took": 3,
    "timed_out": False,
    "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {
        "total": {"value": 2, "relation": "eq"},
        "max_score": None,
        "hits": [
            {
                "_index": ".internal.alerts-security.alerts-default-000001",
                "_id": "a1f0c2d3e4b5",
                "_score": None,
                "_source": _alert_source("a1f0c2d3e4b5", "high"),
            },
            {
                "_index": ".internal.alerts-security.alerts-default-000001",
                "_id": "b2e1d3c4f5a6",
                "_score": None,
                # the search API's ``fields`` form: dotted names, every value an array
                "fields": {
                    "kibana.alert.uuid": ["b2e1d3c4f5a6"],
                    "kibana.alert.rule.name": ["Port Scan Detected"],
                    "kibana.alert.severity": ["critical"],
                    "@timestamp": ["2024-05-02T09:00:00.000Z"],
                    "source.ip": ["198.51.100.7"],
                    "destination.ip": ["10.20.1.5", "10.20.1.6"],
                },
            },
        ],
    },
}


async def test_elastic_alerts_from_a_search_response(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="elastic")
    response = await ingest.post_signed(source, ELASTIC_SEARCH)
    assert response.status_code == 202, response.text
    assert response.json()["errors"] == []
    first_id, second_id = (e["id"] for e in response.json()["events"])
    first = await ingest.event(first_id)
    assert first["name"] == "Suspicious PowerShell Download"
    assert first["severity"] == "high"
    assert first["source_ref"] == "a1f0c2d3e4b5"
    assert first["labels"] == ["Windows", "Execution"]
    assert first["occurred_at"].startswith("2024-05-02T08:14:59")
    values = {(k, v) for a in first["artifacts"] for k, v in a["cef"].items()}
    assert {
        ("sourceAddress", "10.20.1.42"),
        ("destinationAddress", "203.0.113.80"),
        ("deviceHostName", "WS-042"),
        ("destinationUserName", "jdoe"),
        ("sourceProcessName", "powershell.exe"),
        ("sourceProcessId", 4242),
        ("requestURL", "https://203.0.113.80/payload.ps1"),
    } <= values
    second = await ingest.event(second_id)
    assert second["severity"] == "critical"
    addresses = {a["cef"].get("destinationAddress") for a in second["artifacts"]}
    assert {"10.20.1.5", "10.20.1.6"} <= addresses
    # the same alert sent again on its own (a single hit) merges into its event
    hit = ELASTIC_SEARCH["hits"]["hits"][0]  # type: ignore[index]
    again = await ingest.post_signed(source, hit)
    assert again.json()["events"] == [{"index": 0, "id": first_id, "created": False}]


async def test_an_elastic_alert_without_a_rule_name_names_the_field(ingest: Ingest) -> None:
    source = await ingest.make_source(kind="elastic")
    alert = _alert_source("c3", "low")
    del alert["kibana.alert.rule.name"]
    answer = await ingest.post_signed(source, alert)
    assert answer.status_code == 422
    assert answer.json()["field"] == "kibana.alert.rule.name"
