"""Background loops end when cancelled, even when the cancel surfaces as another error."""

from __future__ import annotations

import asyncio

from rampart.core.workers import periodic


async def test_a_cancel_that_surfaces_as_another_error_still_ends_the_loop() -> None:
    """A query cancelled mid-flight often fails its rollback too, so the loop sees an ordinary
    exception. When the event loop shuts down it cancels every task without stopping their
    owners first; a loop that logged and retried would never end and the shutdown would hang.
    """
    entered = asyncio.Event()
    rounds = 0

    async def work() -> None:
        nonlocal rounds
        rounds += 1
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("rollback failed: the connection is closed") from None

    async with periodic(work, interval_s=0.01, name="test-loop", grace_s=0.05):
        await entered.wait()
        [loop_task] = [t for t in asyncio.all_tasks() if t.get_name() == "test-loop"]
        loop_task.cancel()  # what asyncio.Runner does to the tasks left at shutdown
        done, _ = await asyncio.wait([loop_task], timeout=10)
        assert done == {loop_task}, "the loop swallowed its cancel and went on"
        assert loop_task.cancelled()
    assert rounds == 1
