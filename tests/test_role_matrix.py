"""Every route of every service, called with every role: exactly the table's roles get through.

``ACCESS`` below is the one statement of who may call what. It was written from each route's
declared dependency — the role aliases of ``rampart.core.auth`` (``Admin``, ``Analyst``,
``Reader``, ``Decider``, ``Ingester``, ``ServiceCaller``) and the checks in the route functions
— never from what the services answer. The test fails when

* the application serves an API route the table does not name, or the table names one the
  application no longer serves: a new route forces a decision about who may call it;
* a role gets through (any answer but 401/403) where the table refuses it, or is refused (403)
  where the table lets it through;
* a request without a token is answered with anything but 401, except on the probes and on the
  routes that authenticate by other means (the signed decision link, the signed webhook).

Path parameters are placeholders (random UUIDs) and bodies are empty or minimal: the role check
runs before the route's own work, so an allowed caller is answered 404 or 422 and nothing is
changed. Authorization is decided by the request's token alone, before any handler publishes
or consumes a message, so the matrix runs on the in-process bus only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from uuid import uuid4

from rampart.core.auth import Role
from tests.harness import StartServices, memory_only

ADMIN: Final = frozenset({Role.ADMIN})
"""``Admin`` (and the engine's upload route, which checks the admin role itself)."""
ANALYST: Final = frozenset({Role.ADMIN, Role.ANALYST})
"""``Analyst``."""
READER: Final = frozenset({Role.ADMIN, Role.ANALYST, Role.SERVICE})
"""``Reader``."""
DECIDER: Final = frozenset({Role.ADMIN, Role.ANALYST, Role.APPROVER})
"""``Decider``."""
INGESTER: Final = frozenset({Role.ADMIN, Role.ANALYST, Role.INGEST})
"""``Ingester``."""
SERVICE_CALLER: Final = frozenset({Role.ADMIN, Role.SERVICE})
"""``ServiceCaller``."""
ANY_TOKEN: Final = frozenset(Role)
"""``CurrentPrincipal``: any valid token."""


@dataclass(frozen=True)
class Tokenless:
    """A route that no bearer token opens or closes: the answer is the same with any or none.

    ``public``: it answers everyone (the probes); otherwise it authenticates by other means
    (a signed link or a signed body) and a placeholder is refused the same way for everyone.
    """

    public: bool


PUBLIC: Final = Tokenless(public=True)
OTHER_MEANS: Final = Tokenless(public=False)

Access = frozenset[Role] | Tokenless

ACCESS: Final[Mapping[tuple[str, str], Access]] = {
    # platform (every service's app)
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/v1/asyncapi.json"): ANY_TOKEN,
    ("POST", "/api/v1/tokens"): ADMIN,
    ("GET", "/api/v1/tokens"): ADMIN,
    ("DELETE", "/api/v1/tokens/{token_id}"): ADMIN,
    ("GET", "/api/v1/dead-letters/{queue}"): ADMIN,
    ("POST", "/api/v1/dead-letters/{queue}/replay"): ADMIN,
    # ingest
    ("POST", "/api/v1/ingest/{source}"): OTHER_MEANS,
    ("POST", "/api/v1/events"): INGESTER,
    ("GET", "/api/v1/events"): READER,
    ("GET", "/api/v1/events/{event_id}"): READER,
    ("PATCH", "/api/v1/events/{event_id}"): ANALYST,
    ("POST", "/api/v1/events/{event_id}/notes"): ANALYST,
    ("POST", "/api/v1/events/{event_id}/artifacts"): ANALYST,
    ("POST", "/api/v1/events/{event_id}/workbook"): ANALYST,
    ("POST", "/api/v1/events/{event_id}/tasks"): ANALYST,
    ("POST", "/api/v1/events/{event_id}/tasks/{task_id}/complete"): ANALYST,
    ("POST", "/api/v1/sources"): ADMIN,
    ("GET", "/api/v1/sources"): ADMIN,
    ("GET", "/api/v1/sources/{name}"): ADMIN,
    ("PATCH", "/api/v1/sources/{name}"): ADMIN,
    ("DELETE", "/api/v1/sources/{name}"): ADMIN,
    ("POST", "/api/v1/sources/{name}/rotate-secret"): ADMIN,
    # playbook-engine
    ("GET", "/api/v1/playbooks"): READER,
    ("POST", "/api/v1/playbooks"): ADMIN,
    ("GET", "/api/v1/playbooks/{name}"): READER,
    ("PATCH", "/api/v1/playbooks/{name}"): ADMIN,
    ("GET", "/api/v1/runs"): READER,
    ("POST", "/api/v1/runs"): ANALYST,
    ("GET", "/api/v1/runs/{run_id}"): READER,
    ("POST", "/api/v1/runs/{run_id}/cancel"): ANALYST,
    ("GET", "/api/v1/prompts"): DECIDER,
    ("POST", "/api/v1/prompts/{prompt_id}/answer"): DECIDER,
    ("GET", "/api/v1/playbook-audit"): ADMIN,
    ("GET", "/api/v1/engine/events"): READER,
    # action-broker
    ("POST", "/api/v1/action-runs"): ANALYST,
    ("GET", "/api/v1/action-runs"): READER,
    ("GET", "/api/v1/action-runs/{run_id}"): READER,
    ("GET", "/api/v1/action-runs/{run_id}/widget"): READER,
    ("GET", "/api/v1/vault/{sha256}"): ANALYST,
    ("POST", "/api/v1/action-runs/{run_id}/cancel"): ANALYST,
    ("POST", "/api/v1/action-runs/{run_id}/undo"): ANALYST,
    ("POST", "/api/v1/action-runs/{run_id}/resolve"): ANALYST,
    ("POST", "/api/v1/assets/{asset_id}/test"): ANALYST,
    # approvals
    ("GET", "/api/v1/approvals"): DECIDER,
    ("GET", "/api/v1/approvals/{approval_id}"): DECIDER,
    ("POST", "/api/v1/approvals/{approval_id}/decision"): DECIDER,
    ("POST", "/api/v1/approvals/{approval_id}/delegate"): DECIDER,
    ("GET", "/api/v1/slas"): READER,
    ("POST", "/api/v1/slas/{timer_id}/pause"): ANALYST,
    ("POST", "/api/v1/slas/{timer_id}/resume"): ANALYST,
    ("GET", "/api/v1/sla-policies"): ADMIN,
    ("POST", "/api/v1/sla-policies"): ADMIN,
    ("DELETE", "/api/v1/sla-policies/{policy_id}"): ADMIN,
    ("GET", "/api/v1/reports/sla"): ANALYST,
    ("GET", "/api/v1/calendars"): ADMIN,
    ("POST", "/api/v1/calendars"): ADMIN,
    ("GET", "/api/v1/approve/{token}"): OTHER_MEANS,
    ("POST", "/api/v1/approve/{token}"): OTHER_MEANS,
    # asset-registry
    ("GET", "/api/v1/actions"): READER,
    ("GET", "/api/v1/actions/{name}"): READER,
    ("GET", "/api/v1/apps"): READER,
    ("GET", "/api/v1/apps/{name}"): READER,
    ("GET", "/api/v1/owners"): READER,
    ("POST", "/api/v1/owners"): ADMIN,
    ("GET", "/api/v1/owners/{owner_id}"): READER,
    ("PATCH", "/api/v1/owners/{owner_id}"): ADMIN,
    ("DELETE", "/api/v1/owners/{owner_id}"): ADMIN,
    ("POST", "/api/v1/owners/{owner_id}/approver-tokens"): ADMIN,
    ("GET", "/api/v1/assets"): READER,
    ("POST", "/api/v1/assets"): ADMIN,
    ("GET", "/api/v1/assets/{asset_id}"): READER,
    ("PATCH", "/api/v1/assets/{asset_id}"): ADMIN,
    ("DELETE", "/api/v1/assets/{asset_id}"): ADMIN,
    ("GET", "/api/v1/assets/{asset_id}/sealed-config"): SERVICE_CALLER,
}
"""Who may call each route (method, path template) of the installation."""

NOT_IN_SCHEMA: Final = frozenset(
    {("GET", "/api/v1/approve/{token}"), ("POST", "/api/v1/approve/{token}")}
)
"""API routes left out of the OpenAPI document (an HTML page, reached from a notification)."""

BODIES: Final[Mapping[tuple[str, str], dict[str, Any]]] = {
    # The upload checks the admin role in the route, after the body is read: a body that
    # validates, so a refusal cannot hide behind a 422.
    ("POST", "/api/v1/playbooks"): {"source": "raise SystemExit"},
}
"""Minimal bodies where ``{}`` would be refused before the role is looked at."""

_PARAMETER = re.compile(r"\{[^}]+\}")


def schema_routes(openapi: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document, the console's HTML pages aside."""
    methods = {"get", "put", "post", "patch", "delete", "head", "options"}
    return {
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method in operations
        if method in methods
    }


def needs_body(openapi: Mapping[str, Any], method: str, path: str) -> bool:
    operation = openapi["paths"].get(path, {}).get(method.lower(), {})
    return "requestBody" in operation or method in {"POST", "PATCH", "PUT"}


@memory_only
async def test_every_role_reaches_exactly_the_routes_the_table_allows(
    start_services: StartServices,
) -> None:
    """Every (route, role) pair and every route without a token, against ``ACCESS``."""
    async with start_services() as rampart:
        openapi = rampart.app.openapi()
        served = schema_routes(openapi)
        expected = set(ACCESS) - NOT_IN_SCHEMA
        assert served - expected == set(), "routes with no entry in ACCESS: decide who may call"
        assert expected - served == set(), "ACCESS names routes the application no longer serves"

        callers: list[Role | None] = [None, *Role]
        clients = {caller: rampart.client(caller) for caller in callers}

        async def call(caller: Role | None, method: str, path: str) -> int:
            url = _PARAMETER.sub(lambda _: str(uuid4()), path)
            body = BODIES.get((method, path), {}) if needs_body(openapi, method, path) else None
            answer = await clients[caller].request(method, url, json=body)
            return answer.status_code

        try:
            cases = [(caller, method, path) for (method, path) in ACCESS for caller in callers]
            # One request at a time: concurrent first uses of new tokens can exhaust the pool
            # (the route's connection is held while the token is verified on another).
            statuses = [await call(*case) for case in cases]
        finally:
            for client in clients.values():
                await client.aclose()

        answers: dict[tuple[str, str], dict[Role | None, int]] = {}
        for (caller, method, path), status in zip(cases, statuses, strict=True):
            answers.setdefault((method, path), {})[caller] = status

        wrong: list[str] = []
        for route, access in ACCESS.items():
            got = answers[route]
            name = " ".join(route)
            if isinstance(access, Tokenless):
                if len(set(got.values())) != 1:
                    wrong.append(f"{name}: a bearer token changes the answer: {_show(got)}")
                elif access.public and got[None] in (401, 403):
                    wrong.append(f"{name}: a probe refuses callers: {_show(got)}")
                continue
            if got[None] != 401:
                wrong.append(f"{name}: without a token answered {got[None]}, not 401")
            for role in Role:
                status = got[role]
                if status == 401:
                    wrong.append(f"{name}: {role.value}'s valid token answered 401")
                elif role in access and status == 403:
                    wrong.append(f"{name}: {role.value} is refused, the table allows it")
                elif role not in access and status != 403:
                    wrong.append(f"{name}: {role.value} got {status}, the table refuses it")
        assert wrong == [], "\n".join(wrong)


def _show(answers: Mapping[Role | None, int]) -> str:
    return ", ".join(f"{r.value if r else 'no token'}={s}" for r, s in answers.items())
