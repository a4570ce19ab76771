"""Where playbooks come from: a folder synced at start and on change, and uploads.

Either way the source is imported in a playbook process first; code that does not import, or
has no (or more than one) ``@playbook`` entry point, is refused with the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from rampart.core.deps import Conn
from rampart.core.errors import FieldError
from rampart.core.store import Pool
from rampart.core.workers import periodic
from rampart.engine.playbooks import versions
from rampart.engine.sandbox.processes import PlaybookProcesses, ProcessDied, StepTimeout
from rampart.engine.sandbox.protocol import (
    Aborted,
    Failed,
    Inspect,
    Inspected,
    Invalid,
    PlaybookMeta,
)

log = logging.getLogger(__name__)

MAX_SOURCE_BYTES = 256 * 1024


class SourceRefused(FieldError):
    """A playbook source that cannot be used, with the reason (and the line, when known)."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__("source", message)
        self.line = line


def digest_of(source: str) -> str:
    """The SHA-256 of a source text, which names a version's code."""
    return hashlib.sha256(source.encode()).hexdigest()


async def inspect(
    processes: PlaybookProcesses, *, source: str, filename: str, timeout_s: float
) -> PlaybookMeta:
    """Import ``source`` in a playbook process; its playbook's metadata or ``SourceRefused``."""
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise SourceRefused(f"the source is over {MAX_SOURCE_BYTES} bytes")
    try:
        reply = await processes.request(
            Inspect(source=source, filename=filename), budget_s=timeout_s
        )
    except StepTimeout:
        raise SourceRefused(f"importing the module took more than {timeout_s:g}s") from None
    except ProcessDied as exc:
        raise SourceRefused(f"importing the module killed its process: {exc}") from None
    match reply:
        case Inspected():
            return reply.playbook
        case Invalid():
            raise SourceRefused(reply.error, line=reply.line)
        case Failed() | Aborted():
            raise SourceRefused(reply.error)
        case _:
            raise SourceRefused(f"the playbook process answered {reply.op!r}")


async def upload(
    *,
    conn: Conn,
    processes: PlaybookProcesses,
    source: str,
    created_by: str,
    active: bool | None,
    timeout_s: float,
) -> tuple[versions.PlaybookVersion, bool]:
    """Store an uploaded source as a new version (unless unchanged); True if it is new."""
    meta = await inspect(processes, source=source, filename="<upload>", timeout_s=timeout_s)
    return await versions.add(
        conn=conn,
        meta=meta,
        source=source,
        digest=digest_of(source),
        origin="upload",
        path=None,
        created_by=created_by,
        active=active,
    )


@dataclass(frozen=True, slots=True)
class _Seen:
    mtime_ns: int
    size: int


class FolderSync:
    """Keeps the playbooks of one folder in the store: new and changed files become versions."""

    def __init__(
        self, *, pool: Pool, processes: PlaybookProcesses, folder: Path, timeout_s: float
    ) -> None:
        self._pool = pool
        self._processes = processes
        self._folder = folder
        self._timeout_s = timeout_s
        self._seen: dict[str, _Seen] = {}

    def _files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in sorted(self._folder.rglob("*.py")):
            relative = path.relative_to(self._folder)
            if any(
                part.startswith(("_", ".", "test")) or part == "tests" for part in relative.parts
            ):
                continue
            found[relative.as_posix()] = path
        return found

    async def sync(self) -> int:
        """Read the folder; store what changed and deactivate what was removed. Returns changes."""
        if not self._folder.is_dir():
            # a replica started elsewhere must not deactivate what another one synced
            return 0
        files = self._files()
        changed = 0
        for relative, path in files.items():
            stat = path.stat()
            seen = _Seen(stat.st_mtime_ns, stat.st_size)
            if self._seen.get(relative) == seen:
                continue
            if await self._sync_file(relative, path):
                changed += 1
            self._seen[relative] = seen
        for gone in set(self._seen) - set(files):
            del self._seen[gone]
        changed += await self._deactivate_removed(set(files))
        return changed

    async def _sync_file(self, relative: str, path: Path) -> bool:
        source = await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
        digest = digest_of(source)
        async with self._pool.acquire() as conn:
            newest = await versions.newest_from_path(conn=conn, path=relative)
            if newest is not None and newest.digest == digest:
                return False
            try:
                meta = await inspect(
                    self._processes, source=source, filename=relative, timeout_s=self._timeout_s
                )
            except SourceRefused as exc:
                where = f" (line {exc.line})" if exc.line else ""
                log.warning("playbook file %s refused%s: %s", relative, where, exc.message)
                return False
            version, created = await versions.add(
                conn=conn,
                meta=meta,
                source=source,
                digest=digest,
                origin="folder",
                path=relative,
                created_by="folder",
            )
        if created:
            log.info("playbook %s v%d loaded from %s", version.name, version.version, relative)
        return created

    async def _deactivate_removed(self, present: set[str]) -> int:
        count = 0
        async with self._pool.acquire() as conn:
            for name, path in await versions.folder_names(conn=conn):
                if path not in present:
                    await versions.set_active(conn=conn, name=name, active=False)
                    log.info("playbook %s deactivated: %s left the folder", name, path)
                    count += 1
        return count

    def watching(self, *, interval_s: float) -> contextlib.AbstractAsyncContextManager[None]:
        """Sync the folder every ``interval_s`` while the engine runs."""

        async def once() -> None:
            # not ``self.sync`` itself: periodic() reads a number a round returns as the
            # seconds until the next one, and a count of 0 changes made it spin
            await self.sync()

        return periodic(once, interval_s=interval_s, name="engine-folder-sync")
