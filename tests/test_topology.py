"""One topology for the installation: a message for a service that is not up yet waits for it."""

from __future__ import annotations

import pytest

from rampart.cli._services import all_specs, service_spec
from rampart.core.asyncapi import asyncapi_document
from rampart.core.auth import Role
from rampart.core.topology import check_queues, installation_queues
from tests.harness import StartServices, eventually


def test_every_service_queue_binds_what_the_contract_says() -> None:
    queues = [q for spec in all_specs() for q in spec.queues]
    check_queues(queues)  # raises on drift
    contract = {q.name for q in installation_queues()}
    assert {q.name for q in queues} <= contract


def test_the_asyncapi_document_shows_every_queue_and_its_bindings() -> None:
    document = asyncapi_document()
    for queue in installation_queues():
        channel = document["channels"][f"queue_{queue.name.replace('.', '_')}"]
        assert channel["address"] == queue.name
        assert channel["bindings"]["amqp"]["is"] == "queue"
        assert sorted(channel["x-rampart-bindings"]) == sorted(queue.patterns)
        assert channel["x-rampart-service"] == queue.service


@pytest.mark.parametrize("bus_kind", ["postgres", "rabbitmq"], indirect=True)
async def test_ingest_alone_accepts_events_that_approvals_gets_once_it_starts(
    start_services: StartServices,
) -> None:
    # nested only so the harness deletes the test's queues after both: ingest may go on
    async with start_services([service_spec("ingest")]) as ingest:
        async with ingest.client(Role.ADMIN) as client:
            answers = [
                await client.post("/api/v1/events", json={"name": f"approvals is down {i}"})
                for i in range(5)
            ]
        assert [a.status_code for a in answers] == [202] * 5
        ids = {a.json()["id"] for a in answers}
        # the outbox is empty: every message left for a queue, none waits to be published
        await eventually(
            lambda: ingest.pool.fetchval("SELECT count(*) = 0 FROM ingest.outbox"),
            what="ingest's outbox relayed",
        )

        async with (
            start_services([service_spec("approvals")]) as approvals,
            approvals.client(Role.ADMIN) as client,
        ):

            async def every_event_timed() -> bool:
                timers = (await client.get("/api/v1/slas", params={"limit": 500})).json()
                return {t["event_id"] for t in timers} & ids == ids

            await eventually(every_event_timed, what="approvals timed every event")
