"""The approvals service as owners reach it: every service in one app over real HTTP.

The approvals service reads owners from the real asset registry, so each case runs all five
services (as ``rampart run`` does, through the shared harness) on the in-process bus and on
RabbitMQ, with a clock the test moves by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from rampart.approvals.spec import build_spec
from rampart.cli._services import all_specs
from rampart.core.auth import Role
from rampart.core.bus import Bus
from rampart.core.clock import ManualClock
from rampart.core.envelope import Envelope
from rampart.core.messages import ApprovalRequested, ApprovalStagePlan, Message
from tests.harness import Captured, ServiceHarness, StartServices, eventually

__all__ = ["Owner", "Rampart", "approval_request", "eventually", "rampart"]


@dataclass
class Owner:
    id: UUID
    name: str
    token: str


@dataclass
class Rampart:
    """Every service running, with a clock the test moves, and the approvals' domain helpers."""

    services: ServiceHarness
    clock: ManualClock
    admin: httpx.AsyncClient
    captured: Captured

    @property
    def url(self) -> str:
        return self.services.url

    @property
    def bus(self) -> Bus:
        return self.services.bus

    async def send(self, message: Message) -> Envelope:
        envelope = Envelope.wrap(message, source="rampart/action-broker")
        await self.bus.publish([envelope])
        return envelope

    def as_owner(self, owner: Owner) -> httpx.AsyncClient:
        return self.services.client(None, headers={"Authorization": f"Bearer {owner.token}"})

    async def owner(self, name: str) -> Owner:
        made = await self.admin.post("/api/v1/owners", json={"name": name, "kind": "person"})
        assert made.status_code == 201, made.text
        owner_id = UUID(made.json()["id"])
        token = await self.admin.post(f"/api/v1/owners/{owner_id}/approver-tokens")
        assert token.status_code in (200, 201), token.text
        return Owner(owner_id, name, token.json()["token"])

    async def group(self, name: str, members: list[Owner]) -> UUID:
        made = await self.admin.post(
            "/api/v1/owners",
            json={"name": name, "kind": "group", "members": [str(m.id) for m in members]},
        )
        assert made.status_code == 201, made.text
        return UUID(made.json()["id"])

    def messages(self, kind: type[Message]) -> list[Any]:
        return self.captured.of(kind)


def approval_request(
    *stages: tuple[str, list[UUID], int],
    required: int = 1,
    requested_by: str = "playbook:contain-malware:run-1",
) -> ApprovalRequested:
    """What the broker sends for a gated ``terminate process`` on web-01."""
    return ApprovalRequested(
        action_run_id=uuid4(),
        request_key=f"run-1:step-{uuid4().hex[:8]}",
        action="terminate process",
        asset="web-01",
        connector="ssh",
        params={"pid": 4242},
        requested_by=requested_by,
        required_approvals=required,
        fingerprint="f" * 64,
        stages=[
            ApprovalStagePlan(stage=s, assignees=[str(a) for a in who], sla_minutes=m)  # type: ignore[arg-type]
            for s, who, m in stages
        ],
    )


@pytest.fixture
async def rampart(start_services: StartServices, fresh_database: str) -> AsyncIterator[Rampart]:
    """All five services on the test's bus, the approvals service on a clock the test moves.

    Each case has a database of its own: moving the clock fires every timer it holds, so no
    case may see another's timers, policies or report figures.
    """
    clock = ManualClock()
    approvals = build_spec(clock=clock, report_interval_s=0.2)
    specs = [approvals if s.name == "approvals" else s for s in all_specs()]
    async with (
        start_services(specs, database_url=fresh_database) as services,
        services.client(Role.ADMIN) as admin,
    ):
        captured = await services.capture("approval.#", "sla.#")
        yield Rampart(services, clock, admin, captured)
