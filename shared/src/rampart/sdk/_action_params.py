"""Parameter models of the catalog's actions, with the artifact types each parameter takes."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

ContainsType = Literal[
    "ip",
    "ipv6",
    "host name",
    "domain",
    "url",
    "email",
    "user name",
    "hash",
    "md5",
    "sha1",
    "sha256",
    "file name",
    "file path",
    "process id",
    "process name",
    "port",
    "mac address",
    "vm",
]
"""What an artifact's value is: every type ingest's detector emits, the CEF fields' types of
``rampart.core.vocabulary.CEF_CONTAINS``, and ``vm``. A specific type comes with its general
one (an IPv6 address is ``ip`` and ``ipv6``, an MD5 digest ``hash`` and ``md5``), so a
parameter that takes ``ip`` takes every address."""
CONTAINS_TYPES: tuple[ContainsType, ...] = get_args(ContainsType)


@dataclass(frozen=True, slots=True)
class Contains:
    """Marks a parameter with the artifact ``contains`` types its value can be taken from."""

    types: tuple[ContainsType, ...]


def contains(*types: ContainsType) -> Contains:
    """``Annotated[str, contains("ip")]``: this parameter takes values of these types."""
    unknown = [t for t in types if t not in CONTAINS_TYPES]
    if unknown or not types:
        raise ValueError(f"contains types must be among {CONTAINS_TYPES}, got {types}")
    return Contains(tuple(types))


def _address_or_network(value: str) -> str:
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address or CIDR network") from None
    # A single address reads as itself (10.0.0.1, not 10.0.0.1/32), as firewalls list it.
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def _hash(value: str) -> str:
    value = value.strip().lower()
    if not _HASH.match(value):
        raise ValueError("must be an MD5, SHA-1, SHA-256 or SHA-512 hex digest")
    return value


def _domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not _DOMAIN.match(value):
        raise ValueError("must be a domain name such as example.com")
    return value


IpOrNetwork = Annotated[
    str,
    AfterValidator(_address_or_network),
    contains("ip"),
    Field(description="an IPv4 or IPv6 address, or a CIDR network", max_length=64),
]
IpAddress = Annotated[
    str,
    AfterValidator(_address),
    contains("ip"),
    Field(description="an IPv4 or IPv6 address", max_length=64),
]
ProcessId = Annotated[
    int, contains("process id"), Field(ge=1, le=4_194_304, description="a process id")
]
Name = Annotated[str, Field(min_length=1, max_length=255)]


class ActionParams(BaseModel):
    """Base of every action's parameters: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NoParams(ActionParams):
    """An action that takes no parameters."""


class IpParams(ActionParams):
    """One address or network to block or unblock."""

    ip: IpOrNetwork


class LookupIpParams(ActionParams):
    """One address to look up."""

    ip: IpAddress


class ProcessParams(ActionParams):
    """One running process, by id."""

    pid: ProcessId


def _pid_or_name_schema(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [{"required": ["pid"]}, {"required": ["name"]}]


class TerminateProcessParams(ActionParams):
    """A process by id or by exact name, and how long it gets to exit before it is killed."""

    model_config = ConfigDict(json_schema_extra=_pid_or_name_schema)

    pid: ProcessId | None = None
    name: Annotated[str, contains("process name")] | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f/]+$",
        description="the exact process name (comm), e.g. nginx",
    )
    grace_seconds: float = Field(
        default=5.0, ge=0, le=120, description="time between SIGTERM and SIGKILL"
    )

    @model_validator(mode="after")
    def _pid_or_name(self) -> TerminateProcessParams:
        if self.pid is None and self.name is None:
            raise ValueError("give pid or name")
        return self


class ListProcessesParams(ActionParams):
    """Optionally only processes with this exact name."""

    name: Annotated[str, contains("process name")] | None = Field(
        default=None, min_length=1, max_length=64
    )


class VmParams(ActionParams):
    """One virtual machine by its name or id in the hypervisor."""

    vm: Annotated[Name, contains("vm")]


class HostParams(ActionParams):
    """One endpoint by host name or address."""

    host: Annotated[Name, contains("host name", "ip")]


class UserParams(ActionParams):
    """One account by user name."""

    user: Annotated[Name, contains("user name")]


class LookupHashParams(ActionParams):
    """One file hash to look up."""

    hash: Annotated[str, AfterValidator(_hash), contains("hash"), Field(max_length=128)]


class LookupDomainParams(ActionParams):
    """One domain to look up."""

    domain: Annotated[str, AfterValidator(_domain), contains("domain"), Field(max_length=253)]


class DomainParams(ActionParams):
    """One domain to block or unblock."""

    domain: Annotated[str, AfterValidator(_domain), contains("domain"), Field(max_length=253)]


class LookupUrlParams(ActionParams):
    """One URL to look up."""

    url: Annotated[str, contains("url"), Field(min_length=1, max_length=4096)]


class RunQueryParams(ActionParams):
    """A query in the product's own language, and how many results to return at most."""

    query: str = Field(min_length=1, max_length=20_000)
    limit: int = Field(default=100, ge=1, le=10_000)


class SendMessageParams(ActionParams):
    """A message to people or channels the product knows."""

    to: list[Name] = Field(min_length=1, max_length=100)
    subject: str = Field(default="", max_length=500)
    body: str = Field(min_length=1, max_length=100_000)


Hash = Annotated[str, AfterValidator(_hash), contains("hash"), Field(max_length=128)]
Url = Annotated[str, contains("url"), Field(min_length=1, max_length=4096)]
FilePath = Annotated[
    str,
    contains("file path"),
    Field(min_length=1, max_length=4096, pattern=r"^[^\x00]+$", description="an absolute path"),
]
EndpointHost = Annotated[
    Name,
    contains("host name", "ip"),
    Field(description="the endpoint, for products that manage many (an EDR); omit on a host asset"),
]


class UrlParams(ActionParams):
    """One URL to block or unblock."""

    url: Url


class HashParams(ActionParams):
    """One file hash to block or unblock."""

    hash: Hash


class QuarantineFileParams(ActionParams):
    """A file on an endpoint, by hash or path, to move where it can no longer run."""

    model_config = ConfigDict(
        json_schema_extra=lambda s: s.update(anyOf=[{"required": ["hash"]}, {"required": ["path"]}])
    )

    host: EndpointHost | None = None
    hash: Hash | None = None
    path: FilePath | None = None

    @model_validator(mode="after")
    def _hash_or_path(self) -> QuarantineFileParams:
        if self.hash is None and self.path is None:
            raise ValueError("give hash or path")
        return self


class GetFileParams(ActionParams):
    """A file to copy off an endpoint into the vault."""

    path: FilePath
    host: EndpointHost | None = None
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=1, le=1024 * 1024 * 1024)


class RunScriptParams(ActionParams):
    """A script for the endpoint's shell (or the product's script library), with a time limit."""

    script: str = Field(min_length=1, max_length=100_000, description="script text or name")
    args: list[Annotated[str, Field(max_length=4096)]] = Field(default_factory=list, max_length=100)
    host: EndpointHost | None = None
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)


class HuntIpParams(ActionParams):
    """Which endpoints have talked to an address."""

    ip: IpAddress
    limit: int = Field(default=100, ge=1, le=10_000)


class HuntHashParams(ActionParams):
    """Which endpoints have seen a file."""

    hash: Hash
    limit: int = Field(default=100, ge=1, le=10_000)


TicketText = Annotated[str, Field(min_length=1, max_length=100_000)]


class CreateTicketParams(ActionParams):
    """A ticket in the product's queue; ``fields`` are the product's own extra fields."""

    title: Annotated[str, Field(min_length=1, max_length=255)]
    description: str = Field(default="", max_length=100_000)
    priority: Literal["low", "medium", "high", "critical"] = "medium"
    fields: dict[Annotated[str, Field(max_length=255)], Any] = Field(
        default_factory=dict, max_length=100
    )


class UpdateTicketParams(ActionParams):
    """A change to an existing ticket: a comment, a new status and/or extra fields."""

    ticket: Annotated[
        str, Field(min_length=1, max_length=255, description="the ticket's id or key")
    ]
    comment: TicketText | None = None
    status: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    fields: dict[Annotated[str, Field(max_length=255)], Any] = Field(
        default_factory=dict, max_length=100
    )

    @model_validator(mode="after")
    def _something(self) -> UpdateTicketParams:
        if self.comment is None and self.status is None and not self.fields:
            raise ValueError("give comment, status or fields")
        return self


class ListEntryParams(ActionParams):
    """A value to add to or remove from one of the product's named lists."""

    list: Name
    value: Annotated[
        str,
        contains("ip", "domain", "url", "hash", "email", "user name", "host name"),
        Field(min_length=1, max_length=4096),
    ]


def _marks(annotation: Any) -> list[Contains]:
    # A marker sits in Annotated metadata, possibly inside a union such as `ProcessId | None`.
    found = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, Contains)]
    for arg in get_args(annotation):
        found.extend(_marks(arg))
    return found


def contains_of(model: type[BaseModel]) -> dict[str, list[str]]:
    """Each parameter of ``model`` that takes artifact values, with its ``contains`` types."""
    found: dict[str, list[str]] = {}
    for name, info in model.model_fields.items():
        marks = [m for m in info.metadata if isinstance(m, Contains)] + _marks(info.annotation)
        if marks:
            found[name] = list(dict.fromkeys(t for m in marks for t in m.types))
    return found
