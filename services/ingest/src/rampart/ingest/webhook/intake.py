"""From a webhook's bytes to normalized events, by the source's kind and the content type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rampart.core.limits import parsed_as_json
from rampart.ingest.adapters import arcsight, elastic, generic, qradar, sentinel, splunk
from rampart.ingest.adapters._common import TooManyEvents
from rampart.ingest.events.normalized import NormalizedEvent, PayloadError, loads
from rampart.ingest.sources.config import SourceConfig

_JSON_ADAPTERS = {
    "splunk": splunk.events_from_json,
    "qradar": qradar.events_from_json,
    "arcsight": arcsight.events_from_json,
    "generic": generic.events_from_json,
    "sentinel": sentinel.events_from_json,
    "elastic": elastic.events_from_json,
}


class BodyError(ValueError):
    """The body as a whole cannot be read; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Parsed:
    """One item of a body: its index, its line for text bodies, and the event or the error."""

    index: int
    line: int | None
    outcome: NormalizedEvent | PayloadError


def parse_body(
    source: SourceConfig, content_type: str, body: bytes, *, max_events: int
) -> list[Parsed]:
    """Every event in the body, or the reason each one cannot be read."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, "body", f"not UTF-8 at byte {exc.start}") from None
    try:
        if media in ("text/plain", "application/cef", "text/cef"):
            items = arcsight.events_from_text(text, source, max_events=max_events)
            if not items:
                raise BodyError(422, "body", "no CEF line in the body")
            parsed = [Parsed(i, line, outcome) for i, (line, outcome) in enumerate(items)]
        elif parsed_as_json(media):
            payload = _json(text)
            outcomes = _JSON_ADAPTERS[source.kind](payload, source, max_events=max_events)
            parsed = [Parsed(i, None, outcome) for i, outcome in enumerate(outcomes)]
        else:
            raise BodyError(
                415,
                "content-type",
                f"{media!r} is not accepted; send application/json or text/plain",
            )
    except TooManyEvents as exc:
        raise BodyError(413, "body", str(exc)) from None
    if not parsed:
        raise BodyError(422, "body", "the body holds no event")
    return parsed


def _json(text: str) -> Any:
    if not text.strip():
        raise BodyError(422, "body", "the body is empty")
    try:
        return loads(text)  # made storable once, by NormalizedEvent
    except ValueError as exc:
        detail = str(exc)
        raise BodyError(422, "body", f"malformed JSON: {detail[:200]}") from None
    except RecursionError:
        raise BodyError(400, "body", "JSON nested too deeply") from None
