"""Limits are checked before the work they bound: events are counted before any is adapted,
artifacts and labels stop being built once their cap is reached."""

from __future__ import annotations

import json
from typing import Any

import jmespath
import pytest

from rampart.ingest.adapters import _common, arcsight, generic, qradar, splunk
from rampart.ingest.events import normalized
from rampart.ingest.events.normalized import MAX_ARTIFACTS, MAX_LABELS, unique_labels
from rampart.ingest.sources.config import SourceConfig
from rampart.ingest.webhook.intake import BodyError, parse_body


def _source(kind: str, compiled: dict[str, Any] | None = None) -> SourceConfig:
    return SourceConfig(
        id=None,
        name="limits",
        kind=kind,
        auth="bearer",
        default_labels=[],
        default_severity="medium",
        severity_map={},
        sla_minutes={},
        workbook=None,
        mapping=None,
        secrets=(),
        compiled=compiled or {},
    )


CEF = "CEF:0|V|P|1|1|n|3|src=10.0.0.1"
CASES = [
    ("splunk", "application/json", json.dumps([{"rule_name": "r"}] * 11), splunk, "_one"),
    ("qradar", "application/json", json.dumps([{"id": 1}] * 11), qradar, "offense_event"),
    ("arcsight", "application/json", json.dumps([CEF] * 11), arcsight, "event_from_line"),
    ("arcsight", "text/plain", "\n".join([CEF] * 11), arcsight, "event_from_line"),
    ("generic", "application/json", json.dumps([{"t": "x"}] * 11), generic, "_one"),
    ("generic", "application/json", json.dumps({"alerts": [{"t": "x"}] * 11}), generic, "_one"),
]


@pytest.mark.parametrize(
    ("kind", "media", "body", "module", "adapt"),
    CASES,
    ids=["splunk", "qradar", "arcsight-json", "cef-text", "generic-list", "generic-events"],
)
def test_events_are_counted_before_any_is_adapted(
    monkeypatch: pytest.MonkeyPatch, kind: str, media: str, body: str, module: Any, adapt: str
) -> None:
    calls: list[Any] = []
    real = getattr(module, adapt)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, adapt, counting)
    compiled = {"name": jmespath.compile("t")}
    if "alerts" in body:
        compiled["events"] = jmespath.compile("alerts")
    source = _source(kind, compiled if kind == "generic" else None)
    with pytest.raises(BodyError) as refused:
        parse_body(source, media, body.encode(), max_events=10)
    assert refused.value.status == 413
    assert "more than 10 events" in refused.value.message
    assert calls == [], "an adapter ran on a body that was over the limit"
    assert len(parse_body(source, media, body.encode(), max_events=11)) == 11
    assert len(calls) == 11


def test_artifacts_stop_being_built_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []
    real = _common.make_artifact

    def counting(name: str, cef: dict[str, Any]) -> Any:
        built.append(cef)
        return real(name, cef)

    monkeypatch.setattr(_common, "make_artifact", counting)
    many = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(20_000)]
    artifacts = _common.artifacts_from_fields("x", {"sourceAddress": many, "fileName": "a.exe"})
    assert len(artifacts) == MAX_ARTIFACTS
    assert len(built) <= MAX_ARTIFACTS
    offense = {"id": 7, "description": "d", "offense_type": 0, "offense_source": "10.9.9.9"}
    built.clear()
    event = qradar.offense_event(offense, _source("qradar"), source_ips=many, destination_ips=many)
    assert not isinstance(event, normalized.PayloadError)
    assert len(event.artifacts) == MAX_ARTIFACTS
    assert len(built) <= MAX_ARTIFACTS


def test_labels_stop_being_cleaned_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    cleaned: list[str] = []
    real = normalized.clean_text

    def counting(text: str) -> str:
        cleaned.append(text)
        return real(text)

    monkeypatch.setattr(normalized, "clean_text", counting)
    labels = unique_labels([f"label-{i}" for i in range(50_000)])
    assert labels == [f"label-{i}" for i in range(MAX_LABELS)]
    assert len(cleaned) == MAX_LABELS
