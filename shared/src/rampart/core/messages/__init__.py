"""Typed, versioned bus messages: one frozen pydantic model per CloudEvents ``type``."""

from rampart.core.messages._base import (
    Message,
    UnknownMessageType,
    message_model,
    message_types,
    routing_key,
)
from rampart.core.messages.actions import (
    ActionCompleted,
    ActionDispatched,
    ActionRequested,
    ActionStarted,
    ActionTarget,
    AssetResult,
)
from rampart.core.messages.approvals import (
    ApprovalDecided,
    ApprovalEscalated,
    ApprovalNotified,
    ApprovalRequested,
    ApprovalStagePlan,
    SlaBreached,
)
from rampart.core.messages.assets import (
    AssetCreated,
    AssetDeleted,
    AssetUpdated,
    OwnerCreated,
    OwnerDeleted,
    OwnerUpdated,
)
from rampart.core.messages.events import (
    EventChangeRequested,
    EventClosed,
    EventIngested,
    EventUpdated,
    TaskCompleted,
    TaskCompletion,
    TaskCreated,
    TaskSpec,
)
from rampart.core.messages.runs import (
    PlaybookPromptRequested,
    PlaybookRunCompleted,
    PlaybookRunFailed,
    PlaybookRunStarted,
)

__all__ = [
    "ActionCompleted",
    "ActionDispatched",
    "ActionRequested",
    "ActionStarted",
    "ActionTarget",
    "ApprovalDecided",
    "ApprovalEscalated",
    "ApprovalNotified",
    "ApprovalRequested",
    "ApprovalStagePlan",
    "AssetCreated",
    "AssetDeleted",
    "AssetResult",
    "AssetUpdated",
    "EventChangeRequested",
    "EventClosed",
    "EventIngested",
    "EventUpdated",
    "Message",
    "OwnerCreated",
    "OwnerDeleted",
    "OwnerUpdated",
    "PlaybookPromptRequested",
    "PlaybookRunCompleted",
    "PlaybookRunFailed",
    "PlaybookRunStarted",
    "SlaBreached",
    "TaskCompleted",
    "TaskCompletion",
    "TaskCreated",
    "TaskSpec",
    "UnknownMessageType",
    "message_model",
    "message_types",
    "routing_key",
]
