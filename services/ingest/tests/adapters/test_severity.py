"""What a source calls severity (names, urgency, CEF 0-10, magnitudes) into Rampart's four."""

from __future__ import annotations

from rampart.ingest.adapters.severity import map_severity


def test_severity_maps_every_vendor_scale() -> None:
    assert map_severity("High", severity_map={}, default="medium") == "high"
    assert map_severity("informational", severity_map={}, default="medium") == "low"
    assert map_severity("Very-High", severity_map={}, default="medium") == "critical"
    assert map_severity(0, severity_map={}, default="medium") == "low"
    assert map_severity("6", severity_map={}, default="low") == "medium"
    assert map_severity(8, severity_map={}, default="low") == "high"
    assert map_severity(10, severity_map={}, default="low") == "critical"
    assert map_severity("Unknown", severity_map={}, default="medium") == "medium"
    assert map_severity(99, severity_map={}, default="low") == "low"
    assert map_severity("p1", severity_map={"p1": "critical"}, default="low") == "critical"
    assert map_severity(None, severity_map={}, default="high") == "high"
