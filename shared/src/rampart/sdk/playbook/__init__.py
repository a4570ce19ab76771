"""What playbook authors import: ``from rampart.sdk.playbook import playbook, Context, Event``.

A playbook is a module with one ``async def`` decorated with ``@playbook``; the engine calls it
with a ``Context`` and the ``Event``. Everything that leaves the playbook goes through the
context, which records it in the run's history so the run can be replayed after a restart.
``rampart.sdk.testing.PlaybookHarness`` runs a playbook against scripted results in a test.
"""

from rampart.core.vocabulary import CEF_CONTAINS, EventStatus, Severity
from rampart.sdk.playbook._actions import (
    MAX_DURATION,
    check_act,
    describe_act,
    duration_seconds,
    jsonable,
)
from rampart.sdk.playbook._context import Context
from rampart.sdk.playbook._event import Artifact, Event
from rampart.sdk.playbook._playbook import Budget, Entry, Playbook, Predicate, playbook
from rampart.sdk.playbook._results import (
    ActionFailed,
    ActionResult,
    AssetOutcome,
    BudgetExceeded,
    ChildRunFailed,
    EngineStop,
    InvalidAction,
    NonDeterministicPlaybook,
    PlaybookError,
)

__all__ = [
    "CEF_CONTAINS",
    "MAX_DURATION",
    "ActionFailed",
    "ActionResult",
    "Artifact",
    "AssetOutcome",
    "Budget",
    "BudgetExceeded",
    "ChildRunFailed",
    "Context",
    "EngineStop",
    "Entry",
    "Event",
    "EventStatus",
    "InvalidAction",
    "NonDeterministicPlaybook",
    "Playbook",
    "PlaybookError",
    "Predicate",
    "Severity",
    "check_act",
    "describe_act",
    "duration_seconds",
    "jsonable",
    "playbook",
]
