"""How a QEMU asset is configured: each virtual machine's name and its QMP socket."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from rampart.sdk.connector import AssetConfig

VmName = Annotated[str, Field(min_length=1, max_length=255)]
QmpAddress = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1000,
        description="a Unix socket (`unix:/run/qemu/web.qmp` or an absolute path) "
        "or a TCP address (`tcp:host:port` or `host:port`)",
    ),
]


def parse_address(address: str) -> tuple[str, int | None]:
    """``(path, None)`` for a Unix socket, ``(host, port)`` for TCP; ValueError otherwise."""
    text = address.strip()
    if text.startswith("unix:"):
        text = text[len("unix:") :]
        if not text.startswith("/"):
            raise ValueError("a unix: address needs an absolute path")
    if text.startswith("/"):
        return text, None
    text = text.removeprefix("tcp:")
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("give unix:/path, /path, tcp:host:port or host:port")
    return host, int(port)


class QemuConfig(AssetConfig):
    """The virtual machines of one QEMU host, each by the name playbooks use for it.

    QMP has no authentication of its own: whoever reaches the socket controls the machine,
    so the socket is protected by its file permissions or kept on a management network.
    """

    vms: dict[VmName, QmpAddress] = Field(
        min_length=1,
        max_length=10_000,
        description="virtual machine name → its QMP socket, e.g. "
        '{"web-01": "unix:/run/qemu/web-01.qmp"}',
    )
    timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="bounds connecting and each QMP command"
    )

    @field_validator("vms")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for name, address in value.items():
            try:
                parse_address(address)
            except ValueError as exc:
                raise ValueError(f"vm {name!r}: {exc}") from None
        return value
