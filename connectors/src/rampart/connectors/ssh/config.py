"""How an asset reached over SSH is configured: address, account, credentials, host key."""

from __future__ import annotations

import asyncssh
from pydantic import Field, SecretStr, field_validator, model_validator

from rampart.sdk.connector import AssetConfig


class SshConfig(AssetConfig):
    """A Linux host reached over SSH; its host key is pinned, never learned on first use."""

    host: str = Field(min_length=1, max_length=253, description="host name or address")
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")
    host_key: str = Field(
        min_length=1,
        max_length=20_000,
        description="the host's public key(s) in OpenSSH format, one per line, "
        "e.g. the content of /etc/ssh/ssh_host_ed25519_key.pub",
    )
    private_key: SecretStr | None = Field(
        default=None, description="a private key in OpenSSH or PEM format"
    )
    private_key_passphrase: SecretStr | None = None
    password: SecretStr | None = None
    use_sudo: bool = Field(
        default=False, description="run privileged commands through `sudo -n` (not as root)"
    )
    connect_timeout_s: float = Field(default=15.0, gt=0, le=300)
    command_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    script_output_limit_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="run script keeps at most this many bytes of stdout and of stderr",
    )
    dump_dir: str = Field(
        # On the asset, inside a fresh `mktemp -d` folder that only root can enter.
        default="/var/tmp",  # noqa: S108
        pattern=r"^/[A-Za-z0-9._/-]*$",
        description="where process dumps are written on the host before they are collected",
    )

    @field_validator("host_key")
    @classmethod
    def _host_keys_parse(cls, value: str) -> str:
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if not lines:
            raise ValueError("give at least one OpenSSH public key")
        for number, line in enumerate(lines, start=1):
            try:
                asyncssh.import_public_key(line)
            except (asyncssh.KeyImportError, ValueError):
                raise ValueError(f"line {number} is not an OpenSSH public key") from None
        return "\n".join(lines)

    @model_validator(mode="after")
    def _credentials(self) -> SshConfig:
        if self.private_key is None and self.password is None:
            raise ValueError("give private_key or password")
        if self.private_key is not None:
            passphrase = self.private_key_passphrase
            try:
                asyncssh.import_private_key(
                    self.private_key.get_secret_value(),
                    passphrase.get_secret_value() if passphrase else None,
                )
            except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError):
                # The key's text must not reach an error message or a log line.
                raise ValueError(
                    "private_key could not be read: not an OpenSSH or PEM private key, "
                    "or the passphrase is wrong"
                ) from None
        return self

    def host_keys(self) -> list[asyncssh.SSHKey]:
        """The pinned host keys."""
        return [asyncssh.import_public_key(line) for line in self.host_key.splitlines()]
