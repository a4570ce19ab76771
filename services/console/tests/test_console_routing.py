"""Which service the console asks for a page's data when the services are apart."""

from __future__ import annotations

import pytest

from rampart.core.api_map import service_of


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/events?limit=50", "ingest"),
        ("/api/v1/reports/sla", "approvals"),
        ("/api/v1/dead-letters/broker.requests", "action-broker"),
        ("/api/v1/dead-letters/connector.noop/replay", "action-broker"),
        ("/api/v1/dead-letters/engine.triggers", "playbook-engine"),
        ("/api/v1/dead-letters/ingest.changes/replay", "ingest"),
        ("/api/v1/dead-letters/approvals.sla", "approvals"),
        ("/api/v1/dead-letters/nobody.knows", None),
    ],
)
def test_each_path_goes_to_the_service_that_answers_it(path: str, service: str | None) -> None:
    assert service_of(path) == service
