"""The ``smtp`` connector: ``send message`` as e-mail through an SMTP server (aiosmtplib).

TLS is verified (against ``ca_cert`` or the system's CAs): ``starttls`` (the default, port
587) refuses to go on when the server does not offer STARTTLS, ``tls`` is implicit TLS
(port 465), ``none`` is plain SMTP for a relay on a trusted network. Credentials are only
ever sent over TLS, unless ``security`` is ``none``.
"""

from __future__ import annotations

import re
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

import aiosmtplib
from pydantic import BaseModel, Field, SecretStr, model_validator

from rampart.sdk.connector import (
    ActionContext,
    ActionError,
    AssetConfig,
    Connector,
    NoParams,
    SendMessageParams,
    TargetUnavailable,
    action,
)

# One address, no display name: what an envelope recipient is (RFC 5321 Mailbox, simplified).
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
)


class SmtpConfig(AssetConfig):
    """Where mail is submitted, how securely, as whom, and the sender it comes from."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    ca_cert: str | None = Field(
        default=None, max_length=100_000, description="PEM CA(s) to verify the server with"
    )
    username: str | None = Field(default=None, min_length=1, max_length=320)
    password: SecretStr | None = None
    from_address: str = Field(pattern=_ADDRESS.pattern, max_length=320)
    timeout_s: float = Field(default=30.0, gt=0, le=300)

    @model_validator(mode="after")
    def _credentials_together(self) -> SmtpConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("give username and password together, or neither")
        return self


class MessageSent(BaseModel):
    """What the server accepted."""

    message_id: str
    accepted: list[str]
    refused: dict[str, str] = Field(description="recipient → the server's reply")
    reply: str = Field(description="the server's answer to the message data")


class Connectivity(BaseModel):
    """The server answered, over TLS or not, and took the credentials."""

    host: str
    port: int
    tls: bool
    authenticated: bool
    extensions: list[str]


SENT = """<p class="rampart-mail">Sent <code>{{ result.message_id }}</code> to
{{ result.accepted | join(", ") }}.{% if result.refused %} Refused:
{% for rcpt, why in result.refused.items() %}{{ rcpt }} ({{ why }}) {% endfor %}{% endif %}</p>"""


class SmtpConnector(Connector[SmtpConfig]):
    """Sends plain-text e-mail through an SMTP submission server."""

    name = "smtp"
    vendor = "IETF"
    product = "SMTP server"
    description = (
        "Sends messages as plain-text e-mail through an SMTP server, over STARTTLS or "
        "implicit TLS (verified), with optional authentication."
    )
    config_model = SmtpConfig

    def _client(self) -> aiosmtplib.SMTP:
        config = self.config
        context = ssl.create_default_context(cadata=config.ca_cert) if config.ca_cert else None
        if context is None and config.security != "none":
            context = ssl.create_default_context()
        return aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=context,
            timeout=config.timeout_s,
        )

    async def _open(self, client: aiosmtplib.SMTP) -> bool:
        """Connect (and STARTTLS), log in when configured; whether it authenticated."""
        config = self.config
        await client.connect()
        if config.username is not None and config.password is not None:
            await client.login(config.username, config.password.get_secret_value())
            return True
        return False

    def _failure(self, exc: Exception) -> Exception:
        where = f"{self.config.host}:{self.config.port}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return ActionError(f"{where}: the login as {self.config.username!r} was refused")
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return ActionError(f"{where}: every recipient was refused: {refused}")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            text = f"{where}: the server answered {exc.code} {exc.message}"
            return TargetUnavailable(text) if 400 <= exc.code < 500 else ActionError(text)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ActionError(f"{where}: the server's certificate is not trusted: {exc.reason}")
        if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc):
            return ActionError(f"{where}: {exc}")
        return TargetUnavailable(f"{where} is unreachable: {type(exc).__name__}: {exc}")

    @action("send message", widget=SENT)
    async def send_message(self, ctx: ActionContext, params: SendMessageParams) -> MessageSent:
        """Send one plain-text message to every address in ``to``."""
        bad = [r for r in params.to if not _ADDRESS.match(r)]
        if bad:
            raise ActionError(f"not an e-mail address: {bad[0]!r}")
        message = EmailMessage()
        message["From"] = self.config.from_address
        message["To"] = ", ".join(params.to)
        message["Subject"] = params.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.config.from_address.rsplit("@", 1)[1])
        message.set_content(params.body)
        client = self._client()
        try:
            await self._open(client)
            refused, reply = await client.send_message(message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._failure(exc) from None
        finally:
            if client.is_connected:
                client.close()
        ctx.log.info("message sent", extra={"recipients": len(params.to) - len(refused)})
        return MessageSent(
            message_id=str(message["Message-ID"]),
            accepted=[r for r in params.to if r not in refused],
            refused={r: f"{answer.code} {answer.message}" for r, answer in refused.items()},
            reply=reply,
        )

    @action("test connectivity")
    async def test_connectivity(self, ctx: ActionContext, params: NoParams) -> Connectivity:
        """Connect, negotiate TLS, log in and say NOOP."""
        client = self._client()
        try:
            authenticated = await self._open(client)
            await client.noop()
            extensions = sorted(client.esmtp_extensions)
            tls = client.get_transport_info("sslcontext") is not None
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._failure(exc) from None
        finally:
            if client.is_connected:
                client.close()
        return Connectivity(
            host=self.config.host,
            port=self.config.port,
            tls=tls,
            authenticated=authenticated,
            extensions=extensions,
        )
