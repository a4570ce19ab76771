"""A burst of calls with a token not in the cache never deadlocks the pool.

Routes take their connection (``conn: Conn``) before their role check; were the token
verified only then, each call of a burst would hold one connection while waiting for a
second, and with the pool's every connection held so, all of them would wait for ever.
"""

from __future__ import annotations

import asyncio

from rampart.cli._services import service_spec
from rampart.core.auth import Role
from tests.harness import StartServices, memory_only


@memory_only
async def test_a_burst_with_a_cold_token_is_answered_on_a_small_pool(
    start_services: StartServices,
) -> None:
    async with start_services([service_spec("asset-registry")], db_pool_max=2) as registry:
        token = await registry.token(Role.SERVICE, name="burst")  # verified by no call yet
        async with registry.client(None, headers={"Authorization": f"Bearer {token}"}) as api:
            answers = await asyncio.wait_for(
                asyncio.gather(
                    *(api.get("/api/v1/assets", params={"tag": "x"}) for _ in range(12))
                ),
                timeout=20,
            )
        assert [a.status_code for a in answers] == [200] * 12
