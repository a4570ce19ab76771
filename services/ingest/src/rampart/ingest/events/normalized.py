"""The one shape every adapter produces, and the clean-up that makes any JSON storable."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rampart.core.vocabulary import SeverityName
from rampart.ingest.events.contains import contains_of

MAX_ARTIFACTS = 100
MAX_LABELS = 50
MAX_NAME = 500
MAX_REF = 500
MAX_LABEL = 100


class PayloadError(ValueError):
    """A payload an adapter cannot read; ``field`` names where (a JSON path, a CEF key)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Artifact:
    """An observable: CEF fields and the ``contains`` types detected in their values."""

    name: str
    cef: dict[str, Any]
    contains: dict[str, list[str]]

    @property
    def fingerprint(self) -> bytes:
        """The same fields and values give the same fingerprint, so a resend merges."""
        text = json.dumps(self.cef, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(f"{self.name}\n{text}".encode()).digest()


def make_artifact(name: str, cef: dict[str, Any]) -> Artifact | None:
    """An artifact of the non-empty fields of ``cef``; None if nothing is left."""
    kept = {k: clean_json(v) for k, v in cef.items() if v not in (None, "", [], {})}
    if not kept:
        return None
    return Artifact(clean_text(name)[:200] or "artifact", kept, contains_of(kept))


@dataclass(slots=True)
class NormalizedEvent:
    """What every adapter produces: the fields Rampart stores for one event."""

    name: str
    source: str
    source_ref: str | None
    severity: SeverityName
    occurred_at: datetime | None
    labels: list[str]
    data: dict[str, Any]
    artifacts: list[Artifact] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = clean_text(self.name)[:MAX_NAME].strip() or "(unnamed event)"
        if self.source_ref is not None:
            self.source_ref = clean_text(self.source_ref)[:MAX_REF] or None
        self.occurred_at = utc(self.occurred_at)
        self.labels = unique_labels(self.labels)
        self.artifacts = self.artifacts[:MAX_ARTIFACTS]
        # whatever an adapter read its payload from (CEF extensions, syslog, JSON), the raw
        # payload is stored too: one clean-up here covers every path
        self.data = clean_json(self.data)


def utc(when: datetime | None) -> datetime | None:
    """``when`` in UTC: PostgreSQL refuses offsets past 15:59 that ISO 8601 (and pydantic) allow.

    None when the instant has no UTC form (9999-12-31T23:00-05:00 is in the year 10000).
    """
    if when is None:
        return None
    try:
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    except OverflowError:
        return None


def unique_labels(labels: list[Any]) -> list[str]:
    """Labels as short clean strings, without duplicates, in their first order."""
    out: list[str] = []
    for label in labels:
        if len(out) >= MAX_LABELS:
            break  # the rest would be cleaned only to be dropped
        if label is None or isinstance(label, dict | list):
            continue
        text = clean_text(str(label)).strip()[:MAX_LABEL]
        if text and text not in out:
            out.append(text)
    return out


def clean_text(text: str) -> str:
    """Text PostgreSQL accepts: no NUL characters and no lone surrogates."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\x00", "")


def clean_json(value: Any) -> Any:
    """A JSON value with every string (and key) made storable in ``jsonb``."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN has no jsonb form
        return None
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(body: bytes | str) -> Any:
    """Parse JSON strictly: no NaN or Infinity, which PostgreSQL cannot store."""
    return json.loads(body, parse_constant=_reject_constant)


_CEF_TIME_FORMATS = ("%b %d %Y %H:%M:%S.%f", "%b %d %Y %H:%M:%S", "%b %d %H:%M:%S")
_TZ_SUFFIX = re.compile(r"\s+(?:UTC|GMT|Z)$")


def parse_time(value: Any) -> datetime | None:
    """A timestamp from epoch seconds or milliseconds, ISO 8601 or CEF's ``MMM dd yyyy`` form.

    Raises ValueError for a value that is none of those; None for an empty one.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        return _epoch(float(value))
    if not isinstance(value, str):
        raise ValueError("not a time")
    text = value.strip()
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    bare = _TZ_SUFFIX.sub("", text)
    for fmt in _CEF_TIME_FORMATS:
        try:
            parsed = datetime.strptime(bare, fmt)  # CEF times carry no zone: read as UTC
        except ValueError:
            continue
        if "%Y" not in fmt:
            parsed = parsed.replace(year=datetime.now(UTC).year)
        return parsed.replace(tzinfo=UTC)
    raise ValueError(f"{text[:40]!r} is not a time")


def _epoch(number: float) -> datetime:
    if number != number or number < 0:
        raise ValueError("not a time")
    seconds = number / 1000 if number > 100_000_000_000 else number
    if seconds > 253_402_300_799:  # after 9999-12-31
        raise ValueError("time out of range")
    return datetime.fromtimestamp(seconds, UTC)
