"""Which service answers which part of the public API, for clients that call them all.

The console and the CLI reach each service at its own address in distributed mode; the first
path segment after ``/api/v1/`` says whose route it is. In embedded mode every service answers
at the one public URL, so the map only matters when the services are apart.
"""

from __future__ import annotations

__all__ = ["API_OWNERS", "QUEUE_OWNERS", "service_of"]

API_OWNERS: dict[str, str] = {
    "ingest": "ingest",
    "events": "ingest",
    "sources": "ingest",
    "playbooks": "playbook-engine",
    "runs": "playbook-engine",
    "prompts": "playbook-engine",
    "engine": "playbook-engine",
    "action-runs": "action-broker",
    "vault": "action-broker",
    "approvals": "approvals",
    "approve": "approvals",
    "slas": "approvals",
    "sla-policies": "approvals",
    "calendars": "approvals",
    "reports": "approvals",
    "assets": "asset-registry",
    "owners": "asset-registry",
    "apps": "asset-registry",
    "actions": "asset-registry",
}

# dead letters are listed and replayed by the service that consumes the queue, which its
# name's first part says (``broker.requests``, ``connector.noop``)
QUEUE_OWNERS: dict[str, str] = {
    "ingest": "ingest",
    "engine": "playbook-engine",
    "broker": "action-broker",
    "connector": "action-broker",
    "approvals": "approvals",
}


def service_of(path: str) -> str | None:
    """The service whose route ``path`` (``/api/v1/<segment>/...``) is, if it is one's own."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    if len(parts) < 3 or parts[:2] != ["api", "v1"]:
        return None
    if parts[2] == "dead-letters" and len(parts) > 3:
        return QUEUE_OWNERS.get(parts[3].partition(".")[0])
    return API_OWNERS.get(parts[2])
