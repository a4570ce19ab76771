"""The ``elasticsearch`` connector: ``run query`` through ``_search`` in a point in time.

The query is Lucene ``query_string`` syntax, or, when it is a JSON object, a raw Query DSL
body (its ``query`` and optional ``sort`` are used). Hits are read in pages of ``page_size``
inside a point in time (``POST /{index}/_pit``), each page after the last hit's ``sort``
values (``search_after``), until no more hits or the action's ``limit``; the point in time is
closed at the end. Sorting is by ``sort_field`` descending, with ``_shard_doc`` as the
tiebreaker the point in time provides.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

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

HITS_WIDGET = """<table class="rampart-query">
<caption>{{ result.count }} of {{ result.total }} hits in {{ result.index }}</caption>
<tbody>{% for hit in result.hits %}<tr><th>{{ hit._id }}</th>
<td><code>{{ hit._source }}</code></td></tr>{% endfor %}</tbody></table>"""


class ElasticsearchConfig(TokenOrPassword):
    """The cluster, its credentials and where searches look."""

    sign_in_field: ClassVar[str] = "api_key"
    sign_in_scheme: ClassVar[str] = "ApiKey"

    url: HttpsUrl = Field(description="the cluster's URL, e.g. https://es.example:9200")
    api_key: SecretStr | None = Field(default=None, description="an API key (encoded form)")
    index: str = Field(
        default="*",
        min_length=1,
        max_length=1000,
        pattern=r"^[^\s/]+$",
        description="index pattern",
    )
    sort_field: str = Field(default="@timestamp", min_length=1, max_length=255)
    page_size: int = Field(default=500, ge=1, le=10_000)
    keep_alive: str = Field(default="1m", pattern=r"^\d+[smh]$")
    request_timeout_s: float = Field(default=60.0, gt=0, le=600)


class Hits(BaseModel):
    """The hits of a search, at most the action's limit."""

    query: str
    index: str
    total: int
    count: int
    truncated: bool
    hits: list[dict[str, Any]]


class Cluster(BaseModel):
    """The cluster that answered."""

    cluster_name: str
    version: str


def query_clause(query: str) -> tuple[dict[str, Any], list[Any] | None]:
    """The Query DSL clause and sort of a ``run query`` text."""
    text = query.strip()
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ActionError(f"the query looks like JSON but does not parse: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("query"), dict):
            raise ActionError('a JSON query must be an object with a "query" clause')
        sort = body.get("sort")
        return body["query"], sort if isinstance(sort, list) else None
    return {"query_string": {"query": text}}, None


class ElasticsearchConnector(Connector[ElasticsearchConfig]):
    """Searches an Elasticsearch cluster."""

    name = "elasticsearch"
    vendor = "Elastic"
    product = "Elasticsearch"
    description = "Runs a query_string or Query DSL search and pages through its hits (run query)."
    config_model = ElasticsearchConfig

    def _api(self, ctx: ActionContext) -> contextlib.AbstractAsyncContextManager[ProductClient]:
        return self.config.signed_in(ctx)

    @action("run query", widget=HITS_WIDGET)
    async def run_query(self, ctx: ActionContext, params: RunQueryParams) -> Hits:
        """Search, following ``search_after`` pages in a point in time up to the limit."""
        config = self.config
        clause, sort = query_clause(params.query)
        order = sort or [{config.sort_field: {"order": "desc", "unmapped_type": "date"}}]
        size = min(config.page_size, params.limit)
        total = 0
        async with self._api(ctx) as api:
            opened = await api.json(
                "POST",
                f"/{quote(config.index, safe='*,')}/_pit",
                params={"keep_alive": config.keep_alive},
            )
            pit = opened.get("id") if isinstance(opened, dict) else None
            if not isinstance(pit, str):
                raise ActionError("Elasticsearch opened no point in time")
            try:

                async def page(after: list[Any] | None) -> tuple[Sequence[Any], list[Any] | None]:
                    nonlocal total, pit
                    body: dict[str, Any] = {
                        "size": size,
                        "query": clause,
                        "sort": order,
                        "pit": {"id": pit, "keep_alive": config.keep_alive},
                        "track_total_hits": True,
                    }
                    if after is not None:
                        body["search_after"] = after
                    answer = await api.json("POST", "/_search", json=body)
                    pit = answer.get("pit_id", pit)
                    hits = answer.get("hits", {})
                    total = int((hits.get("total") or {}).get("value", 0))
                    rows = hits.get("hits", [])
                    last = rows[-1].get("sort") if rows else None
                    return rows, (last if len(rows) == size and last else None)

                found = await collect(page, limit=params.limit)
            finally:
                await api.request("DELETE", "/_pit", json={"id": pit}, accept=(404,))
        return Hits(
            query=params.query,
            index=config.index,
            total=total,
            count=len(found.items),
            truncated=found.truncated,
            hits=[
                {"_index": h.get("_index"), "_id": h.get("_id"), "_source": h.get("_source", {})}
                for h in found.items
            ],
        )

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Cluster:
        """Read the cluster's root: reachable, and the credentials are accepted."""
        async with self._api(ctx) as api:
            body = await api.get_json("/")
        version = body.get("version", {}) if isinstance(body, dict) else {}
        return Cluster(
            cluster_name=str(body.get("cluster_name", "")) if isinstance(body, dict) else "",
            version=str(version.get("number", "")),
        )
