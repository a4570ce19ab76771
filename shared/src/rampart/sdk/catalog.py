"""The action catalog: vendor-agnostic verbs, their kinds, parameter schemas and undo pairs.

The engine checks a playbook's ``ctx.act(...)`` against it, the broker validates requests
with it, connectors declare which of its actions they implement, and the asset registry
serves it at ``/api/v1/actions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from rampart.core.errors import PermanentError
from rampart.sdk._action_params import (
    CONTAINS_TYPES,
    ActionParams,
    Contains,
    ContainsType,
    CreateTicketParams,
    DomainParams,
    GetFileParams,
    HashParams,
    HostParams,
    HuntHashParams,
    HuntIpParams,
    IpParams,
    ListEntryParams,
    ListProcessesParams,
    LookupDomainParams,
    LookupHashParams,
    LookupIpParams,
    LookupUrlParams,
    NoParams,
    ProcessParams,
    QuarantineFileParams,
    RunQueryParams,
    RunScriptParams,
    SendMessageParams,
    TerminateProcessParams,
    UpdateTicketParams,
    UrlParams,
    UserParams,
    VmParams,
    contains,
    contains_of,
)

__all__ = [
    "CATALOG",
    "CONTAINS_TYPES",
    "ActionKind",
    "ActionParams",
    "ActionSpec",
    "Contains",
    "ContainsType",
    "CreateTicketParams",
    "DomainParams",
    "GetFileParams",
    "HashParams",
    "HostParams",
    "HuntHashParams",
    "HuntIpParams",
    "InvalidParameters",
    "IpParams",
    "ListEntryParams",
    "ListProcessesParams",
    "LookupDomainParams",
    "LookupHashParams",
    "LookupIpParams",
    "LookupUrlParams",
    "NoParams",
    "ProcessParams",
    "QuarantineFileParams",
    "RunQueryParams",
    "RunScriptParams",
    "SendMessageParams",
    "TerminateProcessParams",
    "UnknownAction",
    "UpdateTicketParams",
    "UrlParams",
    "UserParams",
    "VmParams",
    "action_spec",
    "contains",
    "field_errors",
    "validate_params",
]


class ActionKind(StrEnum):
    """What an action does to the world; by default ``contain`` and ``correct`` need approval."""

    CONTAIN = "contain"
    CORRECT = "correct"
    INVESTIGATE = "investigate"
    GENERIC = "generic"
    TEST = "test"


class UnknownAction(LookupError):
    """The name is not an action of the catalog."""


class InvalidParameters(PermanentError, ValueError):
    """Parameters that do not validate against the action's schema; ``errors`` name the fields."""

    def __init__(self, action: str, errors: list[dict[str, str]]) -> None:
        first = errors[0] if errors else {"field": "params", "message": "invalid"}
        super().__init__(f"{action}: {first['field']}: {first['message']}")
        self.action = action
        self.errors = errors


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One verb of the catalog."""

    name: str
    kind: ActionKind
    description: str
    parameters: type[ActionParams]
    undo: str | None = None

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of the parameters."""
        return self.parameters.model_json_schema()

    def contains(self) -> dict[str, list[str]]:
        """Each parameter that takes artifact values, with its ``contains`` types."""
        return contains_of(self.parameters)


def field_errors(exc: ValidationError, *, prefix: str = "") -> list[dict[str, str]]:
    """A pydantic error as ``[{"field": "a.b", "message": ...}]``, never echoing the input."""
    out: list[dict[str, str]] = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        field = ".".join(p for p in (prefix, loc) if p) or prefix or "body"
        out.append({"field": field, "message": str(err.get("msg", "invalid"))})
    return out


def _spec(
    name: str,
    kind: ActionKind,
    parameters: type[ActionParams],
    description: str,
    undo: str | None = None,
) -> ActionSpec:
    return ActionSpec(name, kind, description, parameters, undo)


_K = ActionKind
_SPECS = (
    _spec("block ip", _K.CONTAIN, IpParams, "Drop traffic from and to an address.", "unblock ip"),
    _spec("unblock ip", _K.CORRECT, IpParams, "Let an address through again.", "block ip"),
    _spec(
        "block domain",
        _K.CONTAIN,
        DomainParams,
        "Stop mail, web and DNS traffic to and from a domain.",
        "unblock domain",
    ),
    _spec(
        "unblock domain", _K.CORRECT, DomainParams, "Let a domain through again.", "block domain"
    ),
    _spec(
        "get process dump",
        _K.INVESTIGATE,
        ProcessParams,
        "Save a core dump of a running process to the vault.",
    ),
    _spec(
        "terminate process",
        _K.CORRECT,
        TerminateProcessParams,
        "Stop a process: SIGTERM, then SIGKILL after a grace period.",
    ),
    _spec("list processes", _K.INVESTIGATE, ListProcessesParams, "List running processes."),
    _spec("suspend vm", _K.CONTAIN, VmParams, "Pause a virtual machine.", "resume vm"),
    _spec("resume vm", _K.CORRECT, VmParams, "Resume a paused virtual machine.", "suspend vm"),
    _spec("get vm status", _K.INVESTIGATE, VmParams, "Report a virtual machine's run state."),
    _spec(
        "isolate host",
        _K.CONTAIN,
        HostParams,
        "Cut an endpoint off the network except for its management channel.",
        "release host",
    ),
    _spec("release host", _K.CORRECT, HostParams, "End an endpoint's isolation.", "isolate host"),
    _spec("disable user", _K.CONTAIN, UserParams, "Disable an account.", "enable user"),
    _spec("enable user", _K.CORRECT, UserParams, "Enable a disabled account.", "disable user"),
    _spec("lookup user", _K.INVESTIGATE, UserParams, "An account's details and state."),
    _spec("lookup ip", _K.INVESTIGATE, LookupIpParams, "Reputation and context of an address."),
    _spec("lookup hash", _K.INVESTIGATE, LookupHashParams, "Reputation of a file hash."),
    _spec("lookup domain", _K.INVESTIGATE, LookupDomainParams, "Reputation of a domain."),
    _spec("lookup url", _K.INVESTIGATE, LookupUrlParams, "Reputation of a URL."),
    _spec("run query", _K.INVESTIGATE, RunQueryParams, "Search the product's data."),
    _spec("send message", _K.GENERIC, SendMessageParams, "Send a message to people."),
    _spec("block url", _K.CONTAIN, UrlParams, "Stop web traffic to a URL.", "unblock url"),
    _spec("unblock url", _K.CORRECT, UrlParams, "Let a URL through again.", "block url"),
    _spec(
        "block hash", _K.CONTAIN, HashParams, "Stop a file from running anywhere.", "unblock hash"
    ),
    _spec("unblock hash", _K.CORRECT, HashParams, "Let a file run again.", "block hash"),
    _spec(
        "quarantine file",
        _K.CONTAIN,
        QuarantineFileParams,
        "Move a file where it can no longer run, by hash or path.",
    ),
    _spec("get file", _K.INVESTIGATE, GetFileParams, "Copy a file off an endpoint into the vault."),
    _spec("run script", _K.CORRECT, RunScriptParams, "Run a script on an endpoint."),
    _spec("hunt ip", _K.INVESTIGATE, HuntIpParams, "Find the endpoints that talked to an address."),
    _spec("hunt hash", _K.INVESTIGATE, HuntHashParams, "Find the endpoints that have seen a file."),
    _spec("create ticket", _K.GENERIC, CreateTicketParams, "Open a ticket in a queue."),
    _spec("update ticket", _K.GENERIC, UpdateTicketParams, "Comment on or change a ticket."),
    _spec(
        "add to list",
        _K.GENERIC,
        ListEntryParams,
        "Add a value to one of the product's named lists.",
        "remove from list",
    ),
    _spec(
        "remove from list",
        _K.GENERIC,
        ListEntryParams,
        "Remove a value from one of the product's named lists.",
        "add to list",
    ),
    _spec("test connectivity", _K.TEST, NoParams, "Check that the asset can be reached."),
)

CATALOG: Mapping[str, ActionSpec] = {spec.name: spec for spec in _SPECS}


def action_spec(name: str) -> ActionSpec:
    """The catalog entry of an action; raises UnknownAction for a name it does not hold."""
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownAction(f"{name!r} is not an action of the catalog") from None


def validate_params(name: str, params: Mapping[str, Any]) -> ActionParams:
    """Validate ``params`` against the action's schema; raises InvalidParameters naming fields."""
    spec = action_spec(name)
    try:
        return spec.parameters.model_validate(dict(params))
    except ValidationError as exc:
        raise InvalidParameters(name, field_errors(exc, prefix="params")) from None
