"""Distributed mode as it is deployed: every service a ``rampart serve`` process of its own, on
real RabbitMQ and PostgreSQL, each told where the others are and holding a service token."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from rampart.cli._services import SERVICES
from rampart.core.crypto import Keyring
from tests._bus import delete_namespace
from tests._processes import RampartProcess, cli_token, free_port, process_env, wait_ready

QUEUES = [
    "ingest.sla",
    "ingest.changes",
    "approvals.sla",
    "approvals.requests",
    "engine.triggers",
    "broker.requests",
]
"""The service queues a cluster declares on its namespace, deleted when it stops."""

URL_SETTINGS = {
    "ingest": "RAMPART_INGEST_URL",
    "playbook-engine": "RAMPART_ENGINE_URL",
    "action-broker": "RAMPART_BROKER_URL",
    "approvals": "RAMPART_APPROVALS_URL",
    "asset-registry": "RAMPART_ASSETS_URL",
}


@dataclass
class Cluster:
    """The running processes by service name, an admin token, the environment they share."""

    procs: dict[str, RampartProcess]
    token: str
    env: dict[str, str]
    tmp: Path

    def url(self, service: str) -> str:
        return self.procs[service].url


@contextlib.asynccontextmanager
async def start_cluster(
    *,
    database_url: str,
    amqp_url: str,
    namespace: str,
    tmp: Path,
    settings: Mapping[str, str] | None = None,
    queues: tuple[str, ...] = (),
) -> AsyncIterator[Cluster]:
    """Start every service as a process (``settings`` added to their environment) and wait
    until each answers ``/readyz``; stop them and delete the namespace's queues afterwards."""
    ports = {name: free_port() for name in SERVICES}
    env = process_env(
        {
            "RAMPART_MODE": "distributed",
            "RAMPART_DATABASE_URL": database_url,
            "RAMPART_AMQP_URL": amqp_url,
            "RAMPART_MASTER_KEY": Keyring.generate_key_text(),
            "RAMPART_BUS_NAMESPACE": namespace,
            "RAMPART_BUS_RETRY_DELAY_MS": "50",
            **{
                setting: f"http://127.0.0.1:{ports[name]}" for name, setting in URL_SETTINGS.items()
            },
            # decision links open at the approvals service, which serves their page
            "RAMPART_APPROVALS_PUBLIC_URL": f"http://127.0.0.1:{ports['approvals']}",
            **(settings or {}),
        }
    )
    env["RAMPART_SERVICE_TOKEN"] = await asyncio.to_thread(
        cli_token, env, role="service", name="services"
    )
    procs = {
        name: RampartProcess(["serve", name, "--port", str(port)], env, tmp / f"{name}.log", port)
        for name, port in ports.items()
    }
    try:
        for proc in procs.values():
            proc.start()
        await asyncio.gather(*(wait_ready(p.url, proc=p) for p in procs.values()))
        token = await asyncio.to_thread(cli_token, env, name="admin")
        yield Cluster(procs=procs, token=token, env=env, tmp=tmp)
    finally:
        for proc in procs.values():
            proc.stop()
        await delete_namespace(amqp_url, namespace, [*QUEUES, *queues])
