"""The ``jira`` connector: ``create ticket`` / ``update ticket`` on Jira Cloud (REST API v3).

A ticket is an issue of ``project`` with type ``issue_type``: created with ``POST
/rest/api/3/issue`` (the description as an Atlassian Document Format document, the catalog's
priority as a Jira priority name), changed with ``PUT /rest/api/3/issue/{key}`` (``fields``,
and a comment added through ``update``), and moved to a new status through the workflow
transition whose name or target status is ``status`` (``POST …/transitions``). Sign-in is
HTTP basic with the account's e-mail address and an API token. Jira refuses with ``{
"errorMessages": [...], "errors": {field: message}}``; a 429 waits ``Retry-After`` (or until
``X-RateLimit-Reset``).
"""

from __future__ import annotations

import contextlib
import datetime
import time
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, SecretStr

from rampart.connectors.jira.adf import document
from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    CreateTicketParams,
    HttpsUrl,
    NoParams,
    ProductClient,
    ProductConfig,
    UpdateTicketParams,
    action,
    retry_after_seconds,
)

TICKET_WIDGET = """<p class="rampart-ticket">Jira
<a href="{{ result.link }}"><strong>{{ result.key }}</strong></a>: {{ result.status }}</p>"""

Priority = Literal["low", "medium", "high", "critical"]
# the names of Jira's default priority scheme
PRIORITIES: dict[Priority, str] = {
    "critical": "Highest",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
}


def rate_limit_wait(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, else the time until ``X-RateLimit-Reset`` (ISO 8601)."""
    wait = retry_after_seconds(response.headers.get("retry-after"))
    if wait is not None:
        return wait
    reset = response.headers.get("x-ratelimit-reset", "")
    try:
        when = datetime.datetime.fromisoformat(reset)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - time.time())


class JiraConfig(ProductConfig):
    """The site, the account Rampart signs in as, and where its tickets go."""

    secrets_go_to: ClassVar[tuple[str, ...] | None] = ("url", "email")

    url: HttpsUrl = Field(description="the site, e.g. https://example.atlassian.net")
    email: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+$", max_length=320, description="the account's e-mail address"
    )
    api_token: SecretStr = Field(description="an API token of that account")
    project: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,254}$", description="the project's key")
    issue_type: str = Field(default="Task", min_length=1, max_length=255)
    priorities: dict[Priority, str] | None = Field(
        default_factory=lambda: dict(PRIORITIES),
        description="the catalog's priority → a Jira priority name; one not named is not sent",
    )


class JiraIssue(BaseModel):
    """An issue after the action."""

    key: str
    id: str
    status: str
    link: str
    changed_fields: list[str] = Field(default_factory=list)


class JiraAccount(BaseModel):
    """Who Rampart is on the site, and the project it files into."""

    account_id: str
    display_name: str
    project: str
    project_name: str


class JiraConnector(Connector[JiraConfig]):
    """Opens and updates Jira issues."""

    name = "jira"
    vendor = "Atlassian"
    product = "Jira"
    description = "Creates and updates Jira Cloud issues (REST API v3)."
    config_model = JiraConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        config = self.config
        return config.client(
            ctx,
            headers={"Accept": "application/json", "Content-Type": "application/json"},
            auth=(config.email, config.api_token.get_secret_value()),
            secrets=[config.api_token],
            retry_after=rate_limit_wait,
        )

    async def _issue(self, api: ProductClient, key: str, changed: list[str]) -> JiraIssue:
        body = await api.get_json(
            f"/rest/api/3/issue/{quote(key, safe='')}", params={"fields": "status"}
        )
        if not isinstance(body, dict) or "key" not in body:
            raise ActionError(f"Jira answered without the issue {key!r}")
        status = (body.get("fields") or {}).get("status") or {}
        return JiraIssue(
            key=str(body["key"]),
            id=str(body.get("id", "")),
            status=str(status.get("name", "")),
            link=f"{self.config.url.rstrip('/')}/browse/{body['key']}",
            changed_fields=changed,
        )

    @action("create ticket", widget=TICKET_WIDGET)
    async def create_ticket(self, ctx: ActionContext, params: CreateTicketParams) -> JiraIssue:
        """Create an issue with the title, description, priority and extra fields."""
        config = self.config
        fields: dict[str, Any] = {
            "project": {"key": config.project},
            "issuetype": {"name": config.issue_type},
            "summary": " ".join(params.title.split()),
        }
        if params.description.strip():
            fields["description"] = document(params.description)
        priority = (config.priorities or {}).get(params.priority)
        if priority is not None:
            fields["priority"] = {"name": priority}
        fields.update(params.fields)
        async with self._api(ctx) as api:
            created = await api.json("POST", "/rest/api/3/issue", json={"fields": fields})
            key = created.get("key") if isinstance(created, dict) else None
            if not isinstance(key, str) or not key:
                raise ActionError("Jira created no issue (no key in its answer)")
            return await self._issue(api, key, sorted(fields))

    async def _transition(self, api: ProductClient, path: str, status: str) -> str:
        """The id of the transition to ``status`` (its name or its target status's name)."""
        body = await api.get_json(f"{path}/transitions")
        found = body.get("transitions", []) if isinstance(body, dict) else []
        wanted = status.strip().casefold()
        for transition in found:
            target = (transition.get("to") or {}).get("name", "")
            if wanted in (str(transition.get("name", "")).casefold(), str(target).casefold()):
                return str(transition["id"])
        offered = sorted({str((t.get("to") or {}).get("name", "")) for t in found} - {""})
        raise ActionError(
            f"Jira offers no transition to {status!r} from here; it offers: "
            + (", ".join(offered) or "none")
        )

    @action("update ticket", widget=TICKET_WIDGET)
    async def update_ticket(self, ctx: ActionContext, params: UpdateTicketParams) -> JiraIssue:
        """Set fields and add a comment (one ``PUT``), then take the transition to ``status``."""
        path = f"/rest/api/3/issue/{quote(params.ticket, safe='')}"
        edit: dict[str, Any] = {}
        if params.fields:
            edit["fields"] = dict(params.fields)
        if params.comment is not None:
            edit["update"] = {"comment": [{"add": {"body": document(params.comment)}}]}
        changed = sorted(params.fields) + ["comment"] * (params.comment is not None)
        async with self._api(ctx) as api:
            # the transition is found before anything changes: an unknown status changes nothing
            transition = None
            if params.status is not None:
                transition = await self._transition(api, path, params.status)
            if edit:
                await api.request("PUT", path, json=edit)
            if transition is not None:
                await api.request(
                    "POST", f"{path}/transitions", json={"transition": {"id": transition}}
                )
                changed.append("status")
            return await self._issue(api, params.ticket, changed)

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> JiraAccount:
        """Read the account (``/myself``) and the project its tickets go to."""
        async with self._api(ctx) as api:
            me = await api.get_json("/rest/api/3/myself")
            project = await api.get_json(f"/rest/api/3/project/{quote(self.config.project)}")
        me = me if isinstance(me, dict) else {}
        project = project if isinstance(project, dict) else {}
        return JiraAccount(
            account_id=str(me.get("accountId", "")),
            display_name=str(me.get("displayName", "")),
            project=str(project.get("key", self.config.project)),
            project_name=str(project.get("name", "")),
        )
