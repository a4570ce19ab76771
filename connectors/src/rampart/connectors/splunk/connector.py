"""The ``splunk`` connector: ``run query`` as a Splunk search job on the management port.

The job is created (``POST /services/search/jobs``), polled until its ``dispatchState`` is
``DONE`` or ``FAILED`` (``GET /services/search/jobs/{sid}``), and its results are read in
pages of ``page_size`` (``GET /services/search/jobs/{sid}/results?offset=&count=``) up to the
action's ``limit``. A job that does not finish within ``max_wait_s`` is cancelled and the
action fails; a busy search head (503, the concurrent search quota) is transient.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    Connector,
    HttpsUrl,
    NoParams,
    ProductClient,
    RunQueryParams,
    TokenOrPassword,
    action,
    collect,
)

ROWS_WIDGET = """<table class="rampart-query">
<caption>{{ result.count }} results{% if result.truncated %} (more not read){% endif %}</caption>
{% if result.rows %}<thead><tr>{% for k in result.rows[0].keys() %}<th>{{ k }}</th>
{% endfor %}</tr></thead>{% endif %}<tbody>
{% for row in result.rows %}<tr>{% for v in row.values() %}<td>{{ v }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>"""


class SplunkConfig(TokenOrPassword):
    """The management port's URL and an authentication token (or a user and password)."""

    url: HttpsUrl = Field(description="the management URL, e.g. https://splunk.example:8089")
    token: SecretStr | None = Field(default=None, description="a Splunk authentication token")
    earliest_time: str = Field(default="-24h", max_length=100)
    latest_time: str = Field(default="now", max_length=100)
    page_size: int = Field(default=1000, ge=1, le=50_000)
    poll_interval_s: float = Field(default=1.0, ge=0.01, le=60)
    max_wait_s: float = Field(default=300.0, gt=0, le=3600)
    request_timeout_s: float = Field(default=60.0, gt=0, le=600)


class QueryRows(BaseModel):
    """The rows a search returned, at most the action's limit."""

    query: str
    sid: str
    count: int
    truncated: bool
    rows: list[dict[str, Any]]


class SplunkServer(BaseModel):
    """The server that answered."""

    server_name: str
    version: str


def spl(query: str) -> str:
    """A search string as the jobs endpoint wants it: leading ``search`` unless a pipe."""
    text = query.strip()
    return text if text.startswith(("search ", "|")) else f"search {text}"


class SplunkConnector(Connector[SplunkConfig]):
    """Runs SPL searches as Splunk search jobs."""

    name = "splunk"
    vendor = "Splunk"
    product = "Splunk Enterprise"
    description = "Runs an SPL search as a search job and returns its results (run query)."
    config_model = SplunkConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        return self.config.signed_in(ctx)

    async def _wait(self, api: ProductClient, sid: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.config.max_wait_s
        while True:
            body = await api.get_json(
                f"/services/search/jobs/{sid}", params={"output_mode": "json"}
            )
            content = (
                (body.get("entry") or [{}])[0].get("content", {}) if isinstance(body, dict) else {}
            )
            state = content.get("dispatchState")
            if state == "DONE":
                return dict(content)
            if state == "FAILED" or content.get("isFailed"):
                words = "; ".join(
                    str(m.get("text", ""))
                    for m in content.get("messages", [])
                    if isinstance(m, dict)
                )
                raise ActionError(
                    f"the Splunk search job {sid} failed: {words or 'no reason given'}"
                )
            if time.monotonic() >= deadline:
                await api.post(f"/services/search/jobs/{sid}/control", data={"action": "cancel"})
                raise ActionError(
                    f"the Splunk search job {sid} did not finish in {self.config.max_wait_s:g} s; "
                    "cancelled"
                )
            await asyncio.sleep(self.config.poll_interval_s)

    @action("run query", widget=ROWS_WIDGET)
    async def run_query(self, ctx: ActionContext, params: RunQueryParams) -> QueryRows:
        """Run the search, wait for the job, read its results up to the limit."""
        config = self.config
        async with self._api(ctx) as api:
            created = await api.json(
                "POST",
                "/services/search/jobs",
                data={
                    "search": spl(params.query),
                    "earliest_time": config.earliest_time,
                    "latest_time": config.latest_time,
                    "output_mode": "json",
                },
            )
            sid = created.get("sid") if isinstance(created, dict) else None
            if not isinstance(sid, str) or not sid:
                raise ActionError("Splunk created no search job (no sid in its answer)")
            await self._wait(api, sid)
            size = min(config.page_size, params.limit)

            async def page(offset: int | None) -> tuple[Sequence[dict[str, Any]], int | None]:
                start = offset or 0
                body = await api.get_json(
                    f"/services/search/jobs/{sid}/results",
                    params={"output_mode": "json", "offset": start, "count": size},
                )
                rows = body.get("results", []) if isinstance(body, dict) else []
                return rows, (start + len(rows) if len(rows) == size else None)

            found = await collect(page, limit=params.limit)
        return QueryRows(
            query=params.query,
            sid=sid,
            count=len(found.items),
            truncated=found.truncated,
            rows=found.items,
        )

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> SplunkServer:
        """Read the server's info: reachable, and the credentials are accepted."""
        async with self._api(ctx) as api:
            body = await api.get_json("/services/server/info", params={"output_mode": "json"})
        content = (
            (body.get("entry") or [{}])[0].get("content", {}) if isinstance(body, dict) else {}
        )
        return SplunkServer(
            server_name=str(content.get("serverName", "")), version=str(content.get("version", ""))
        )
