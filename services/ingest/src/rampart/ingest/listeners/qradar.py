"""Pulling offenses from QRadar: one poller per source across replicas, its position kept.

Each tick a replica claims a due source with a lease (``UPDATE ... FOR UPDATE SKIP LOCKED``),
asks ``GET /api/siem/offenses`` for offenses updated since the stored position, sorted by
``last_updated_time`` then ``id`` and paged by keyset (each page starts after the last offense of
the one before, never at an offset), looks up their source and destination addresses, stores
them as events and moves the position. A replica that dies loses its lease when it expires; the next
one starts from the stored position, and re-read offenses merge into their events.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from rampart.core.deps import Conn
from rampart.core.ids import uuid7
from rampart.core.workers import periodic
from rampart.ingest import SCHEMA
from rampart.ingest.adapters.qradar import offense_event
from rampart.ingest.events.normalized import NormalizedEvent
from rampart.ingest.events.store import Submission
from rampart.ingest.sources.config import load_config, qradar_token
from rampart.ingest.sources.models import QRadarPolling
from rampart.ingest.state import IngestState

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
MAX_PAGES = 20
FIRST_LOOK_BACK = timedelta(hours=24)


class QRadarError(Exception):
    """QRadar answered with an error or something that is not a list of offenses."""


async def claim_due(*, conn: Conn, owner: str) -> tuple[UUID, int] | None:
    """Take the lease of one source whose poll is due; its id and stored position."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.qradar_state (source_id) SELECT id FROM {SCHEMA}.sources "
        "WHERE kind = 'qradar' AND qradar IS NOT NULL ON CONFLICT DO NOTHING"
    )
    row = await conn.fetchrow(
        f"UPDATE {SCHEMA}.qradar_state SET lease_owner = $1, lease_until = now() + $2::interval "
        f"WHERE source_id = (SELECT q.source_id FROM {SCHEMA}.qradar_state q "
        f"JOIN {SCHEMA}.sources s ON s.id = q.source_id AND s.qradar IS NOT NULL "
        "WHERE q.next_poll_at <= now() AND (q.lease_until IS NULL OR q.lease_until < now()) "
        "ORDER BY q.next_poll_at LIMIT 1 FOR UPDATE OF q SKIP LOCKED) "
        "RETURNING source_id, last_updated_ms",
        owner,
        LEASE,
    )
    return (row["source_id"], row["last_updated_ms"]) if row else None


async def release(
    *,
    conn: Conn,
    source_id: UUID,
    owner: str,
    interval_s: int,
    position: int | None,
    seen: int,
    error: str | None,
) -> None:
    """Give the lease back, with the new position and when to poll next."""
    await conn.execute(
        f"UPDATE {SCHEMA}.qradar_state SET lease_owner = NULL, lease_until = NULL, "
        "last_updated_ms = coalesce($3, last_updated_ms), next_poll_at = now() + $4::interval, "
        "last_run_at = now(), last_error = $5, offenses_seen = offenses_seen + $6 "
        "WHERE source_id = $1 AND lease_owner = $2",
        source_id,
        owner,
        position,
        timedelta(seconds=interval_s),
        error,
        seen,
    )


def _client(polling: QRadarPolling, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=polling.url.rstrip("/"),
        verify=polling.verify_tls,
        timeout=30,
        headers={"SEC": token, "Version": polling.api_version, "Accept": "application/json"},
    )


async def _get_list(client: httpx.AsyncClient, path: str, **kwargs: Any) -> list[Any]:
    response = await client.get(path, **kwargs)
    if response.status_code not in (200, 206):
        raise QRadarError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
    try:
        body = response.json()
    except ValueError:
        raise QRadarError(f"GET {path} did not answer JSON") from None
    if not isinstance(body, list):
        raise QRadarError(f"GET {path} did not answer a list")
    return body


async def _addresses(
    client: httpx.AsyncClient, path: str, ids: set[int], field: str
) -> dict[int, str]:
    if not ids:
        return {}
    found = await _get_list(
        client,
        path,
        params={
            "filter": f"id in ({','.join(str(i) for i in sorted(ids))})",
            "fields": f"id,{field}",
        },
    )
    return {a["id"]: a[field] for a in found if isinstance(a, dict) and a.get(field)}


SORT = "+last_updated_time,+id"


def page_filter(position: int, after: tuple[int, int] | None) -> str:
    """The filter of one page: the poll's first from ``position``, the next after ``after``.

    The first page re-reads the stored millisecond (offenses updated in it merge); later pages
    start after the ``(last_updated_time, id)`` of the previous page's last offense, so an
    offense updated while the pages are read moves to the end instead of pushing another one
    past an offset.
    """
    if after is None:
        return f"last_updated_time >= {position}"
    updated, offense_id = after
    return f"last_updated_time > {updated} or (last_updated_time = {updated} and id > {offense_id})"


def _keyset(offense: Any) -> tuple[int, int] | None:
    if not isinstance(offense, dict):
        return None
    updated, offense_id = offense.get("last_updated_time"), offense.get("id")
    if isinstance(updated, int) and isinstance(offense_id, int):
        return updated, offense_id
    return None


def _ids(offenses: list[Any], key: str) -> set[int]:
    return {
        i
        for o in offenses
        if isinstance(o, dict) and isinstance(o.get(key), list)
        for i in o[key]
        if isinstance(i, int) and not isinstance(i, bool)
    }


async def poll_source(ingest: IngestState, *, source_id: UUID, position: int) -> tuple[int, int]:
    """Read every offense updated since ``position``; the new position and how many were read."""
    async with ingest.pool.acquire() as conn:
        name = await conn.fetchval(f"SELECT name FROM {SCHEMA}.sources WHERE id = $1", source_id)
        config = await load_config(conn=conn, keyring=ingest.keyring, name=name)
        raw = await conn.fetchval(f"SELECT qradar FROM {SCHEMA}.sources WHERE id = $1", source_id)
        token = await qradar_token(conn=conn, keyring=ingest.keyring, source_id=source_id)
    if config is None or raw is None or token is None:
        return position, 0
    polling = QRadarPolling(**raw)
    if position == 0:
        since = polling.since or datetime.now(UTC) - FIRST_LOOK_BACK
        position = int(since.timestamp() * 1000)
    seen = 0
    newest = position
    after: tuple[int, int] | None = None
    async with _client(polling, token) as client:
        for _page in range(MAX_PAGES):
            offenses = await _get_list(
                client,
                "/api/siem/offenses",
                params={"filter": page_filter(position, after), "sort": SORT},
                headers={"Range": f"items=0-{polling.page_size - 1}"},
            )
            if not offenses:
                break
            sources_ips = await _addresses(
                client,
                "/api/siem/source_addresses",
                _ids(offenses, "source_address_ids"),
                "source_ip",
            )
            destination_ips = await _addresses(
                client,
                "/api/siem/local_destination_addresses",
                _ids(offenses, "local_destination_address_ids"),
                "local_destination_ip",
            )
            events: list[NormalizedEvent] = []
            for offense in offenses:
                outcome = offense_event(
                    offense,
                    config,
                    source_ips=[
                        sources_ips[i]
                        for i in offense.get("source_address_ids") or []
                        if i in sources_ips
                    ],
                    destination_ips=[
                        destination_ips[i]
                        for i in offense.get("local_destination_address_ids") or []
                        if i in destination_ips
                    ],
                )
                if isinstance(outcome, NormalizedEvent):
                    events.append(outcome)
                else:
                    log.warning("QRadar offense skipped: %s", outcome, extra={"source": name})
                updated = offense.get("last_updated_time") if isinstance(offense, dict) else None
                if isinstance(updated, int) and updated > newest:
                    newest = updated
            await ingest.writer.write(
                Submission(
                    events=events,
                    sla_minutes=ingest.settings.sla_for(config.sla_minutes),
                    workbook=config.workbook,
                )
            )
            seen += len(offenses)
            last = _keyset(offenses[-1])
            if len(offenses) < polling.page_size or last is None or last == after:
                break
            after = last
    return newest, seen


@contextlib.asynccontextmanager
async def qradar_pollers(ingest: IngestState) -> AsyncIterator[None]:
    """A worker: poll due QRadar sources while the service runs."""
    settings = ingest.settings
    if not settings.qradar_pollers:
        yield
        return
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid7()}"

    async def tick() -> bool:
        async with ingest.pool.acquire() as conn:
            claimed = await claim_due(conn=conn, owner=owner)
        if claimed is None:
            return False
        source_id, position = claimed
        interval = 60
        new_position: int | None = None
        seen = 0
        error = None
        try:
            async with ingest.pool.acquire() as conn:
                raw = await conn.fetchval(
                    f"SELECT qradar FROM {SCHEMA}.sources WHERE id = $1", source_id
                )
            interval = QRadarPolling(**raw).interval_s if raw else interval
            new_position, seen = await poll_source(ingest, source_id=source_id, position=position)
        except (QRadarError, httpx.HTTPError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("QRadar poll failed: %s", error, extra={"source_id": str(source_id)})
        async with ingest.pool.acquire() as conn:
            await release(
                conn=conn,
                source_id=source_id,
                owner=owner,
                interval_s=interval,
                position=new_position,
                seen=seen,
                error=error,
            )
        return True

    async def poll_due() -> None:
        while await tick():
            pass

    async with periodic(poll_due, interval_s=settings.qradar_tick_s, name="qradar-pollers"):
        yield
