"""The ``servicenow`` connector: ``create ticket`` / ``update ticket`` on a Table API table.

Tickets are records of ``table`` (default ``incident``): created with ``POST
/api/now/table/{table}``, updated with ``PATCH /api/now/table/{table}/{sys_id}``; a ticket is
named by its ``number`` (INC0010001) or ``sys_id``. The catalog's priority sets ``impact``
and ``urgency`` (ServiceNow derives the priority from both); a comment becomes a
``work_notes`` entry (or ``comments``, customer-visible, by configuration); a status name is
mapped to the incident ``state`` number. Basic authentication or an OAuth bearer token.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    CreateTicketParams,
    HttpsUrl,
    NoParams,
    ProductClient,
    TokenOrPassword,
    UpdateTicketParams,
    action,
)

TICKET_WIDGET = """<p class="rampart-ticket">ServiceNow {{ result.table }}
<a href="{{ result.link }}"><strong>{{ result.number }}</strong></a>: {{ result.state }}</p>"""

# impact, urgency: 1 high, 2 medium, 3 low (ServiceNow's incident priority matrix)
PRIORITY = {"critical": (1, 1), "high": (1, 2), "medium": (2, 2), "low": (3, 3)}
STATES = {
    "new": "1",
    "in progress": "2",
    "on hold": "3",
    "resolved": "6",
    "closed": "7",
    "canceled": "8",
}


class ServiceNowConfig(TokenOrPassword):
    """The instance, the table tickets live in, and how Rampart signs in."""

    url: HttpsUrl = Field(description="the instance, e.g. https://example.service-now.com")
    token: SecretStr | None = Field(default=None, description="an OAuth access token")
    table: str = Field(default="incident", pattern=r"^[a-z0-9_]+$", max_length=80)
    comment_field: str = Field(default="work_notes", pattern=r"^(work_notes|comments)$")


class Ticket(BaseModel):
    """A ticket after the action."""

    table: str
    sys_id: str
    number: str
    state: str
    link: str
    changed_fields: list[str] = Field(default_factory=list)


class Instance(BaseModel):
    """The instance answered and the table is readable."""

    url: str
    table: str


class ServiceNowConnector(Connector[ServiceNowConfig]):
    """Opens and updates ServiceNow tickets."""

    name = "servicenow"
    vendor = "ServiceNow"
    product = "ServiceNow ITSM"
    description = "Creates and updates incidents (or any table's records) via the Table API."
    config_model = ServiceNowConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        return self.config.signed_in(ctx, headers={"Content-Type": "application/json"})

    def _ticket(self, record: dict[str, Any], changed: list[str]) -> Ticket:
        sys_id = str(record.get("sys_id", ""))
        return Ticket(
            table=self.config.table,
            sys_id=sys_id,
            number=str(record.get("number", "")),
            state=str(record.get("state", "")),
            link=f"{self.config.url.rstrip('/')}/nav_to.do?uri={self.config.table}.do?sys_id={sys_id}",
            changed_fields=changed,
        )

    @staticmethod
    def _result(body: Any) -> dict[str, Any]:
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise ActionError("ServiceNow answered without a result record")
        return result

    @action("create ticket", widget=TICKET_WIDGET)
    async def create_ticket(self, ctx: ActionContext, params: CreateTicketParams) -> Ticket:
        """Create a record with the title, description, priority and extra fields."""
        impact, urgency = PRIORITY[params.priority]
        record = {
            "short_description": params.title,
            "description": params.description,
            "impact": str(impact),
            "urgency": str(urgency),
            **params.fields,
        }
        async with self._api(ctx) as api:
            body = await api.json(
                "POST",
                f"/api/now/table/{self.config.table}",
                json=record,
                params={"sysparm_exclude_reference_link": "true"},
            )
        return self._ticket(self._result(body), sorted(record))

    @action("update ticket", widget=TICKET_WIDGET)
    async def update_ticket(self, ctx: ActionContext, params: UpdateTicketParams) -> Ticket:
        """Add a work note, set the state and/or fields of the ticket (number or sys_id)."""
        change: dict[str, Any] = dict(params.fields)
        if params.comment is not None:
            change[self.config.comment_field] = params.comment
        if params.status is not None:
            state = params.status.strip().lower()
            change["state"] = STATES.get(state, params.status if state.isdigit() else None)
            if change["state"] is None:
                raise ActionError(
                    f"unknown ServiceNow state {params.status!r}; use a state number or one of "
                    + ", ".join(STATES)
                )
        table = self.config.table
        async with self._api(ctx) as api:
            found = await api.get_json(
                f"/api/now/table/{table}",
                params={
                    "sysparm_query": f"number={params.ticket}^ORsys_id={params.ticket}",
                    "sysparm_limit": "1",
                    "sysparm_fields": "sys_id,number",
                },
            )
            rows = found.get("result") if isinstance(found, dict) else None
            if not rows:
                raise ActionError(f"ServiceNow has no {table} record {params.ticket!r}")
            sys_id = quote(str(rows[0]["sys_id"]), safe="")
            body = await api.json(
                "PATCH",
                f"/api/now/table/{table}/{sys_id}",
                json=change,
                params={"sysparm_exclude_reference_link": "true"},
            )
        return self._ticket(self._result(body), sorted(change))

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Instance:
        """Read one record of the table: reachable, signed in, allowed to read."""
        async with self._api(ctx) as api:
            await api.get_json(
                f"/api/now/table/{self.config.table}",
                params={"sysparm_limit": "1", "sysparm_fields": "sys_id"},
            )
        return Instance(url=self.config.url, table=self.config.table)
