"""Group commit: concurrent requests' events share one transaction.

Each request hands its submission to the writer and waits. A few flusher tasks take
everything waiting (up to a number of events), write it with ``store.write_batch`` and wake
each request with its own result. Under load one commit serves many requests; alone, a
request waits for nothing but its own write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import asyncpg

from rampart.core.outbox import Publisher
from rampart.core.store import Pool
from rampart.ingest.events.store import Replayed, Stored, Submission, write_batch

log = logging.getLogger(__name__)

_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


@dataclass(slots=True)
class _Job:
    submission: Submission
    done: asyncio.Future[list[Stored]]


class EventWriter:
    """Writes submissions in shared transactions through ``flushers`` concurrent tasks."""

    def __init__(
        self, pool: Pool, *, publish: Publisher, max_events: int = 2000, flushers: int = 2
    ) -> None:
        self._pool = pool
        self._publish = publish
        self._max_events = max_events
        self._flushers = flushers
        self._pending: list[_Job] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.batches = 0
        self.submissions = 0

    async def start(self) -> None:
        """Start the flusher tasks."""
        self._tasks = [
            asyncio.create_task(self._flush_forever(), name=f"ingest-writer-{i}")
            for i in range(self._flushers)
        ]

    async def stop(self) -> None:
        """Write what is waiting, then stop."""
        while self._pending:
            await self._flush_once()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def write(self, submission: Submission) -> list[Stored]:
        """Store one submission's events; raises ``Replayed`` for a replayed webhook id."""
        if not submission.events and submission.webhook_id is None:
            return []
        if not self._tasks:
            # not started (or stopping): write alone rather than wait for nobody
            return _unwrap(await self._write([submission]))[0]
        future: asyncio.Future[list[Stored]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(submission, future))
        self._wake.set()
        # a client that goes away does not cancel the write others share
        return await asyncio.shield(future)

    async def _flush_forever(self) -> None:
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            await self._flush_once()

    async def _flush_once(self) -> None:
        taken: list[_Job] = []
        count = 0
        while self._pending and (not taken or count < self._max_events):
            job = self._pending.pop(0)
            taken.append(job)
            count += max(len(job.submission.events), 1)
        if not taken:
            return
        try:
            results = await self._write([j.submission for j in taken])
        except Exception as exc:
            if len(taken) == 1:
                _settle_error(taken[0], exc)
                return
            # one bad submission must not fail the others: write each on its own
            log.warning("group commit failed; writing %d submissions one by one", len(taken))
            for job in taken:
                try:
                    _settle(job, (await self._write([job.submission]))[0])
                except Exception as single:
                    _settle_error(job, single)
            return
        self.batches += 1
        self.submissions += len(taken)
        for job, result in zip(taken, results, strict=True):
            _settle(job, result)

    async def _write(self, submissions: list[Submission]) -> list[list[Stored] | Replayed]:
        for attempt in range(4):
            try:
                async with self._pool.acquire() as conn:
                    return await write_batch(
                        conn=conn, submissions=submissions, publish=self._publish
                    )
            except _RETRYABLE:
                if attempt == 3:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")


def _unwrap(results: list[list[Stored] | Replayed]) -> list[list[Stored]]:
    out: list[list[Stored]] = []
    for result in results:
        if isinstance(result, Replayed):
            raise result
        out.append(result)
    return out


def _settle(job: _Job, result: list[Stored] | Replayed) -> None:
    if job.done.done():
        return
    if isinstance(result, Replayed):
        job.done.set_exception(result)
    else:
        job.done.set_result(result)


def _settle_error(job: _Job, exc: BaseException) -> None:
    if not job.done.done():
        job.done.set_exception(exc)
