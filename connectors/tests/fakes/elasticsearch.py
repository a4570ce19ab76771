"""A fake Elasticsearch cluster: point in time, ``_search`` with ``search_after``, errors.

Follows Elastic's published reference:
- "Paginate search results" —
  https://elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results
  (``POST /{index}/_pit?keep_alive=`` answers an ``id``; ``_search`` with ``pit``, ``sort``
  and ``search_after`` the last hit's ``sort`` values; ``_shard_doc`` as the implicit
  tiebreaker; ``DELETE /_pit``)
- the search API: ``query`` (``query_string`` or Query DSL), ``size``, ``track_total_hits``;
  answers ``{"pit_id", "hits": {"total": {"value", "relation"}, "hits": [{"_index", "_id",
  "_source", "sort"}]}}``
- errors as ``{"error": {"root_cause": [...], "type", "reason"}, "status"}``: 401
  ``security_exception``, 429 ``es_rejected_execution_exception``.
The fake matches ``query_string`` as ``field:value`` or a bare word in any field, and a DSL
``term``/``match`` on one field; that is all its tests need.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def es_error(status: int, kind: str, reason: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "root_cause": [{"type": kind, "reason": reason}],
                "type": kind,
                "reason": reason,
            },
            "status": status,
        },
        status_code=status,
    )


def _matches(doc: dict[str, Any], clause: dict[str, Any]) -> bool:
    if "match_all" in clause:
        return True
    if "query_string" in clause:
        text = clause["query_string"]["query"]
        if ":" in text:
            name, value = text.split(":", 1)
            return str(doc.get(name.strip())) == value.strip().strip('"')
        return any(text == str(v) for v in doc.values())
    for kind in ("term", "match"):
        if kind in clause:
            ((name, value),) = clause[kind].items()
            value = value.get("query", value.get("value")) if isinstance(value, dict) else value
            return str(doc.get(name)) == str(value)
    return False


@dataclass
class FakeElasticsearch:
    """Documents of one index, the accepted API key, open points in time."""

    api_key: str = base64.b64encode(b"key-id:key-secret-0123456789").decode()
    index: str = "logs-test"
    docs: list[dict[str, Any]] = field(default_factory=list)
    pits: set[str] = field(default_factory=set)
    closed: list[str] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)
    reject: int = 0

    def app(self) -> Starlette:
        def refused(request: Request) -> Response | None:
            if request.headers.get("authorization") != f"ApiKey {self.api_key}":
                return es_error(
                    401,
                    "security_exception",
                    "unable to authenticate with provided credentials and anonymous access "
                    "is not allowed for this request",
                )
            if self.reject > 0:
                self.reject -= 1
                return es_error(
                    429,
                    "es_rejected_execution_exception",
                    "rejected execution of coordinating operation",
                )
            return None

        async def root(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            return JSONResponse(
                {
                    "name": "node-1",
                    "cluster_name": "test-cluster",
                    "version": {"number": "8.15.0"},
                    "tagline": "You Know, for Search",
                }
            )

        async def open_pit(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            if "keep_alive" not in request.query_params:
                return es_error(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: [keep_alive] is not specified;",
                )
            pit = base64.b64encode(uuid.uuid4().bytes).decode()
            self.pits.add(pit)
            return JSONResponse({"id": pit})

        async def close_pit(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            pit = (await request.json()).get("id")
            if pit not in self.pits:
                return JSONResponse({"succeeded": True, "num_freed": 0}, status_code=404)
            self.pits.discard(pit)
            self.closed.append(pit)
            return JSONResponse({"succeeded": True, "num_freed": 1})

        async def search(request: Request) -> Response:
            if (no := refused(request)) is not None:
                return no
            body = await request.json()
            self.searches.append(body)
            pit = body.get("pit", {}).get("id")
            if pit not in self.pits:
                return es_error(
                    404, "search_context_missing_exception", "No search context found for id"
                )
            sort = body.get("sort") or []
            ((sort_field, _),) = sort[0].items() if sort else (("@timestamp", {}),)
            hits = [
                {
                    "_index": self.index,
                    "_id": str(n),
                    "_source": doc,
                    "sort": [doc.get(sort_field), n],
                }
                for n, doc in enumerate(self.docs)
                if _matches(doc, body.get("query", {}))
            ]
            hits.sort(key=lambda h: (-int(h["sort"][0] or 0), h["sort"][1]))
            after = body.get("search_after")
            if after is not None:
                hits = [
                    h
                    for h in hits
                    if (-int(h["sort"][0] or 0), h["sort"][1]) > (-int(after[0]), after[1])
                ]
            total = len([d for d in self.docs if _matches(d, body.get("query", {}))])
            size = int(body.get("size", 10))
            return JSONResponse(
                {
                    "pit_id": pit,
                    "took": 1,
                    "timed_out": False,
                    "hits": {"total": {"value": total, "relation": "eq"}, "hits": hits[:size]},
                }
            )

        return Starlette(
            routes=[
                Route("/", root, methods=["GET"]),
                Route("/_pit", close_pit, methods=["DELETE"]),
                Route("/_search", search, methods=["POST"]),
                Route("/{index}/_pit", open_pit, methods=["POST"]),
            ]
        )
