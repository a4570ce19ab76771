"""What ``rampart run`` tells a person once it answers: where it is, and what to do next."""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import dataclass

import httpx

log = logging.getLogger(__name__)

SAMPLE_SOURCE = "sample"
"""The webhook source a first start creates, so one command can send an event to it."""

_SOURCE = {
    "name": SAMPLE_SOURCE,
    "kind": "generic",
    "auth": "bearer",
    "default_labels": ["sample"],
    "mapping": {
        "name": "title",
        "severity": "level",
        "source_ref": "id",
        "artifacts": {"sourceAddress": "src_ip", "destinationHostName": "host"},
    },
}
_SAMPLE_EVENT = {
    "id": "sample-1",
    "title": "Sample: repeated failed logins on web-01",
    "level": "high",
    "src_ip": "203.0.113.7",
    "host": "web-01",
}


@dataclass(frozen=True, slots=True)
class FirstStart:
    """What only the first start shows: the admin token, once."""

    admin_token: str


def _curl(url: str, token: str, body: object) -> str:
    return " ".join(
        [
            "curl -s -X POST",
            shlex.quote(url),
            "-H",
            shlex.quote(f"Authorization: Bearer {token}"),
            "-H 'Content-Type: application/json'",
            "-d",
            shlex.quote(json.dumps(body)),
        ]
    )


async def sample_event_command(url: str, admin_token: str) -> str:
    """A copy-paste command that sends an event: to a sample webhook source it creates.

    Should the source not be made, the command posts the event with the admin token instead.
    """
    # the request lines of this one call would only bury the welcome under log lines
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            made = await client.post(
                "/api/v1/sources", json=_SOURCE, headers={"Authorization": f"Bearer {admin_token}"}
            )
        made.raise_for_status()
        secret = str(made.json()["secret"])
        return _curl(f"{url}/api/v1/ingest/{SAMPLE_SOURCE}", secret, _SAMPLE_EVENT)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        log.warning("could not create the sample source: %s", exc)
    finally:
        logging.getLogger("httpx").setLevel(logging.NOTSET)
    event = {"name": _SAMPLE_EVENT["title"], "severity": "high", "labels": ["sample"]}
    return _curl(f"{url}/api/v1/events", admin_token, event)


async def welcome(url: str, first: FirstStart | None, *, mail_caught: bool = False) -> str:
    """The lines printed once Rampart answers; the first start adds the token and a command."""
    lines = [f"Rampart is running on {url}", f"  API docs: {url}/docs"]
    if mail_caught:
        lines.append("  e-mail to owners is caught here: rampart mail ls")
    if first is not None:
        command = await sample_event_command(url, first.admin_token)
        lines += [
            f"  admin token (shown once, keep it): {first.admin_token}",
            "",
            "Next: send a sample event, then look for it in the API docs under GET /api/v1/events:",
            f"  {command}",
        ]
    return "\n".join(lines)
