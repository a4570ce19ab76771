"""Rampart's words, defined once: severities, event statuses, CEF fields' ``contains`` types,
the roles of API tokens.

Ingest's detector, the playbook SDK, the action catalog and the bus messages all read these,
so an event means the same thing wherever it is looked at.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

SeverityName = Literal["low", "medium", "high", "critical"]
"""A severity as it travels in JSON."""

SEVERITIES: tuple[SeverityName, ...] = ("low", "medium", "high", "critical")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class Severity(StrEnum):
    """An event's severity; members compare by rank, so ``sev >= Severity.HIGH`` works."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for low up to 3 for critical."""
        return _RANK[self.value]

    def _other(self, other: object) -> int | None:
        if isinstance(other, str) and other in _RANK:
            return _RANK[other]
        return None

    def __lt__(self, other: object) -> bool:
        rank = self._other(other)
        return NotImplemented if rank is None else self.rank < rank

    def __le__(self, other: object) -> bool:
        rank = self._other(other)
        return NotImplemented if rank is None else self.rank <= rank

    def __gt__(self, other: object) -> bool:
        rank = self._other(other)
        return NotImplemented if rank is None else self.rank > rank

    def __ge__(self, other: object) -> bool:
        rank = self._other(other)
        return NotImplemented if rank is None else self.rank >= rank

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return self.value


EventStatusName = Literal["new", "open", "closed"]
"""An event's status as it travels in JSON."""


class EventStatus(StrEnum):
    """Where an event is in its life: new → open → closed (and reopened to open)."""

    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


PLAYBOOK_NAME = r"^[a-z][a-z0-9_-]{0,99}$"
"""What a playbook may be called: lower case, digits, ``-`` and ``_``, up to 100 characters."""

CEF_CONTAINS: dict[str, tuple[str, ...]] = {
    "sourceAddress": ("ip",),
    "destinationAddress": ("ip",),
    "deviceAddress": ("ip",),
    "sourceTranslatedAddress": ("ip",),
    "destinationTranslatedAddress": ("ip",),
    "sourceHostName": ("host name",),
    "destinationHostName": ("host name",),
    "deviceHostName": ("host name",),
    "sourceUserName": ("user name",),
    "destinationUserName": ("user name",),
    "sourceUserId": ("user name",),
    "destinationUserId": ("user name",),
    "sourceProcessId": ("process id",),
    "destinationProcessId": ("process id",),
    "deviceProcessId": ("process id",),
    "sourceProcessName": ("process name",),
    "destinationProcessName": ("process name",),
    "deviceProcessName": ("process name",),
    "fileHash": ("hash",),
    "oldFileHash": ("hash",),
    "fileName": ("file name",),
    "oldFileName": ("file name",),
    "filePath": ("file path",),
    "requestURL": ("url",),
    "sourceNtDomain": ("domain",),
    "destinationNtDomain": ("domain",),
    "sourceDnsDomain": ("domain",),
    "destinationDnsDomain": ("domain",),
    "sourceMacAddress": ("mac address",),
    "destinationMacAddress": ("mac address",),
    "deviceMacAddress": ("mac address",),
    "sourcePort": ("port",),
    "destinationPort": ("port",),
}
"""The ``contains`` types a CEF field's value has when the source did not say (ArcSight CEF
full names, as Splunk, QRadar and ArcSight use them)."""


class Role(StrEnum):
    """What a token may do; ``admin`` may do everything."""

    ADMIN = "admin"
    ANALYST = "analyst"
    APPROVER = "approver"
    INGEST = "ingest"
    SERVICE = "service"
