"""What the SSH connector's actions return."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rampart.sdk.connector import VaultRef


class ProcessInfo(BaseModel):
    """One process as ``ps`` saw it."""

    pid: int
    ppid: int
    user: str
    state: str
    name: str
    command: str


class ProcessList(BaseModel):
    """The processes running on a host."""

    host: str
    count: int
    processes: list[ProcessInfo]


class TerminatedProcess(BaseModel):
    """What became of one process: it exited on SIGTERM, needed SIGKILL, or was not running."""

    pid: int
    name: str | None = None
    outcome: Literal["terminated", "killed", "not running"]


class TerminateResult(BaseModel):
    """The processes a terminate request matched and what became of each."""

    host: str
    processes: list[TerminatedProcess]


class ProcessDump(BaseModel):
    """A core dump of a process, kept in the vault."""

    host: str
    pid: int
    name: str
    file: VaultRef


class IpBlock(BaseModel):
    """Whether an address is in Rampart's nftables block set, and whether this call changed it."""

    host: str
    ip: str
    blocked: bool
    changed: bool
    table: str = "inet rampart"
    set: str
    covered_by: str | None = Field(
        default=None, description="the blocked network that already holds this address"
    )


class Connectivity(BaseModel):
    """Who Rampart is on the host, what runs there and which tools its actions need."""

    host: str
    port: int
    user: str
    uid: int
    kernel: str
    privileged: bool
    tools: dict[str, bool] = Field(description="gcore, nft, flock: present on the host or not")


class ScriptOutput(BaseModel):
    """The first bytes of one output stream of a script, as text."""

    text: str
    bytes: int = Field(description="how many bytes the script wrote to the stream in all")
    truncated: bool = Field(description="whether the stream was longer than what is kept here")


class ScriptRun(BaseModel):
    """How a script run on the host ended, and what it printed (bounded)."""

    host: str
    exit_status: int
    timed_out: bool
    duration_s: float
    stdout: ScriptOutput
    stderr: ScriptOutput


class FileCopy(BaseModel):
    """A file copied off the host into the vault."""

    host: str
    path: str
    size: int
    sha256: str
    file: VaultRef
