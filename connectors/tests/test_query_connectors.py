"""The splunk and elasticsearch connectors against fakes that follow the vendors' references.

Documents the fakes follow (cited in full in ``fakes/splunk.py`` and ``fakes/elasticsearch.py``):
Splunk "Creating searches using the REST API",
https://help.splunk.com/en/splunk-enterprise/leverage-rest-apis/rest-api-tutorials/9.0/rest-api-tutorials/creating-searches-using-the-rest-api;
Elastic "Paginate search results",
https://elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.tests.fakes.elasticsearch import FakeElasticsearch
from connectors.tests.fakes.splunk import FakeSplunk
from rampart.connectors.elasticsearch import ElasticsearchConnector
from rampart.connectors.splunk import SplunkConnector
from rampart.sdk.connector import ActionError, TargetUnavailable
from rampart.sdk.testing import ConnectorHarness


def splunk(fake: FakeSplunk, **config: Any) -> ConnectorHarness[SplunkConnector]:
    return ConnectorHarness(
        SplunkConnector,
        {
            "url": "https://splunk.example:8089",
            "token": fake.token,
            "poll_interval_s": 0.01,
            **config,
        },
        http=httpx.ASGITransport(app=fake.app()),
    )


def elastic(fake: FakeElasticsearch, **config: Any) -> ConnectorHarness[ElasticsearchConnector]:
    return ConnectorHarness(
        ElasticsearchConnector,
        {
            "url": "https://es.example:9200",
            "api_key": fake.api_key,
            "index": fake.index,
            "page_size": 3,
            **config,
        },
        http=httpx.ASGITransport(app=fake.app()),
    )


def test_the_declarations_match_the_catalog() -> None:
    splunk(FakeSplunk()).check()
    elastic(FakeElasticsearch()).check()


async def test_splunk_runs_a_job_and_reads_every_page_of_results() -> None:
    fake = FakeSplunk(rows={"index=fw action=blocked": [{"src": f"10.0.0.{n}"} for n in range(7)]})
    h = splunk(fake, page_size=3)
    result = await h.run("run query", query="index=fw action=blocked", limit=100)
    dumped = result.model_dump()
    assert dumped["count"] == 7
    assert not dumped["truncated"]
    assert [r["src"] for r in dumped["rows"]] == [f"10.0.0.{n}" for n in range(7)]
    assert fake.result_requests == [(0, 3), (3, 3), (6, 3)]
    [job] = fake.jobs.values()
    assert job["search"] == "search index=fw action=blocked"
    assert job["polls"] == 2
    assert job["form"]["earliest_time"] == "-24h"
    assert "7 results" in h.render("run query", result)


async def test_splunk_stops_at_the_limit() -> None:
    fake = FakeSplunk(rows={"x": [{"n": n} for n in range(10)]})
    result = await splunk(fake, page_size=4).run("run query", query="x", limit=5)
    assert result.model_dump()["count"] == 5
    assert result.model_dump()["truncated"]
    assert fake.result_requests == [(0, 4), (4, 4)]


async def test_a_failed_splunk_job_is_an_action_error_with_its_message() -> None:
    fake = FakeSplunk(fail={"bad"})
    with pytest.raises(ActionError, match="Error in 'search' command: bad field"):
        await splunk(fake).run("run query", query="bad")


async def test_a_splunk_job_that_never_finishes_is_cancelled() -> None:
    fake = FakeSplunk(polls_until_done=10_000)
    with pytest.raises(ActionError, match="did not finish"):
        await splunk(fake, max_wait_s=0.05).run("run query", query="slow")
    assert [j["cancelled"] for j in fake.jobs.values()] == [True]


async def test_a_wrong_splunk_token_is_its_message_without_the_token() -> None:
    wrong = "wrong-splunk-token-00000"
    with pytest.raises(ActionError) as caught:
        await splunk(FakeSplunk(), token=wrong).run("run query", query="x")
    assert "401: call not properly authenticated" in str(caught.value)
    assert wrong not in str(caught.value)


async def test_a_busy_splunk_is_transient() -> None:
    with pytest.raises(TargetUnavailable, match="maximum number of concurrent"):
        await splunk(FakeSplunk(busy=True)).run("run query", query="x")


def _docs() -> list[dict[str, Any]]:
    return [
        {"@timestamp": 1000 + n, "src": "10.0.0.1" if n % 2 else "10.0.0.2", "n": n}
        for n in range(9)
    ]


async def test_elasticsearch_pages_with_search_after_to_the_end() -> None:
    fake = FakeElasticsearch(docs=_docs())
    h = elastic(fake)
    result = await h.run("run query", query="src:10.0.0.1", limit=100)
    dumped = result.model_dump()
    assert dumped["total"] == 4
    assert dumped["count"] == 4
    assert not dumped["truncated"]
    assert [hit["_source"]["n"] for hit in dumped["hits"]] == [7, 5, 3, 1]
    assert [s.get("search_after") for s in fake.searches] == [None, [1003, 3]]
    assert fake.pits == set()
    assert len(fake.closed) == 1
    assert "4 of 4 hits" in h.render("run query", result)


async def test_elasticsearch_takes_raw_query_dsl_and_stops_at_the_limit() -> None:
    fake = FakeElasticsearch(docs=_docs())
    result = await elastic(fake).run(
        "run query", query='{"query": {"term": {"src": "10.0.0.2"}}}', limit=4
    )
    dumped = result.model_dump()
    assert dumped["total"] == 5
    assert dumped["count"] == 4
    assert dumped["truncated"]
    assert fake.searches[0]["query"] == {"term": {"src": "10.0.0.2"}}
    assert fake.pits == set()


async def test_a_wrong_elasticsearch_key_is_its_reason_without_the_key() -> None:
    wrong = "d3Jvbmcta2V5LXZhbHVl"
    with pytest.raises(ActionError) as caught:
        await elastic(FakeElasticsearch(), api_key=wrong).run("run query", query="x")
    assert "401: unable to authenticate with provided credentials" in str(caught.value)
    assert wrong not in str(caught.value)


async def test_a_rejecting_elasticsearch_is_transient() -> None:
    with pytest.raises(TargetUnavailable, match="rejected execution"):
        await elastic(FakeElasticsearch(reject=1)).run("run query", query="x")


async def test_a_malformed_json_query_is_refused_before_any_search() -> None:
    fake = FakeElasticsearch()
    with pytest.raises(ActionError, match="does not parse"):
        await elastic(fake).run("run query", query="{not json")
    assert fake.searches == []
