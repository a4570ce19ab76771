"""Inbox tables are pruned on a schedule, and never sooner than a redelivery could come.

The inbox makes a redelivered message a no-op; a row pruned while its message can still come
again would let it run twice, a row never pruned grows the table forever.
"""

from __future__ import annotations

import pytest

from rampart.core.inbox import check_retention, redelivery_window_s
from rampart.core.settings import Settings
from rampart.ingest.spec import SPEC
from tests.harness import StartServices, eventually, memory_only


@memory_only
async def test_old_inbox_rows_are_pruned_and_recent_ones_kept(
    start_services: StartServices,
) -> None:
    async with start_services(
        [SPEC], inbox_retention_s=3600, inbox_prune_interval_s=0.2
    ) as rampart:
        await rampart.pool.execute(
            "INSERT INTO ingest.inbox (consumer, message_id, handled_at) VALUES "
            "('prune-test', 'old', now() - interval '2 hours'), "
            "('prune-test', 'recent', now() - interval '50 minutes')"
        )

        async def left() -> list[str] | None:
            rows = await rampart.pool.fetch(
                "SELECT message_id FROM ingest.inbox WHERE consumer = 'prune-test'"
            )
            ids = sorted(r["message_id"] for r in rows)
            return ids if "old" not in ids else None

        assert await eventually(left, what="the old inbox row pruned") == ["recent"]


def test_a_retention_shorter_than_the_redelivery_window_is_refused() -> None:
    settings = Settings(bus_delivery_limit=5, bus_retry_delay_ms=200, publish_timeout_s=10)
    window = redelivery_window_s(settings)
    # 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s of retries, and a relay's republish after two timeouts
    assert window == pytest.approx(6.2 + 20)
    check_retention(settings)  # the default week is far longer
    with pytest.raises(RuntimeError, match="RAMPART_INBOX_RETENTION_S"):
        check_retention(settings.model_copy(update={"inbox_retention_s": 2 * window - 1}))
