"""Mapping what a source calls severity (magnitude, urgency, CEF 0-10) to Rampart's four."""

from __future__ import annotations

from typing import Any

from rampart.core.vocabulary import SEVERITIES, SeverityName

_NAMED: dict[str, SeverityName] = {
    "informational": "low",
    "info": "low",
    "very-low": "low",
    "very low": "low",
    "moderate": "medium",
    "elevated": "high",
    "very-high": "critical",
    "very high": "critical",
    "veryhigh": "critical",
    "urgent": "critical",
}


def map_severity(
    value: Any, *, severity_map: dict[str, SeverityName], default: SeverityName
) -> SeverityName:
    """The source's map first, then Rampart's names, then a 0-10 scale; else ``default``.

    The 0-10 scale reads CEF severities and QRadar magnitudes alike: 0-3 low, 4-6 medium,
    7-8 high, 9-10 critical.
    """
    if value is None or isinstance(value, bool | dict | list):
        return default
    key = str(value).strip().lower()
    if key in severity_map:
        return severity_map[key]
    if key in SEVERITIES:
        return key
    if key in _NAMED:
        return _NAMED[key]
    try:
        number = float(key)
    except ValueError:
        return default
    if not 0 <= number <= 10:
        return default
    if number < 4:
        return "low"
    if number < 7:
        return "medium"
    if number < 9:
        return "high"
    return "critical"
