"""Sending a notice: e-mail over SMTP, a Standard Webhooks POST, Slack and Teams webhooks."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import smtplib
import time
from email.message import EmailMessage

import httpx

from rampart.approvals.notify.contacts import Channel
from rampart.approvals.notify.render import Renderable
from rampart.approvals.notify.settings import NotifySettings


class SendFailed(Exception):
    """A channel did not take the notice; ``permanent`` when retrying it cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def sign(secret: bytes, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of Standard Webhooks: ``v1,<base64 HMAC-SHA256>``."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_key(secret: str) -> bytes:
    """The key of a ``whsec_<base64>`` secret."""
    text = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("RAMPART_APPROVALS_WEBHOOK_SECRET must be whsec_<base64>") from None
    if len(key) < 24:
        raise ValueError("RAMPART_APPROVALS_WEBHOOK_SECRET needs at least 24 bytes of key")
    return key


class Senders:
    """Sends notices through every channel with one HTTP client and the service's settings."""

    def __init__(self, settings: NotifySettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        secret = settings.webhook_secret
        self._webhook_key = webhook_key(secret.get_secret_value()) if secret else None

    async def send(self, channel: Channel, address: str, notice: Renderable) -> None:
        """Deliver ``notice`` to ``address`` through ``channel``; ``SendFailed`` if it did not."""
        if channel == "email":
            await self.email(address, notice)
        elif channel == "slack":
            await self._post(address, json.dumps(notice.slack()).encode(), {}, "Slack")
        elif channel == "teams":
            await self._post(address, json.dumps(notice.teams()).encode(), {}, "Teams")
        else:
            await self.webhook(address, notice)

    async def email(self, address: str, notice: Renderable) -> None:
        """Hand the notice to the SMTP server."""
        message = notice.email(sender=self._settings.smtp_from, to=address)
        try:
            await asyncio.to_thread(self._smtp_send, message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendFailed(
                f"the SMTP server refused {address}: {codes}",
                permanent=all(c >= 500 for c in codes),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(
                f"the SMTP server answered {exc.smtp_code}", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"the SMTP server is unreachable: {exc}") from exc

    def _smtp_send(self, message: EmailMessage) -> None:
        settings = self._settings
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.send_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(message)

    async def webhook(self, url: str, notice: Renderable) -> None:
        """POST the notice's event, signed the Standard Webhooks way."""
        if self._webhook_key is None:
            raise SendFailed("RAMPART_APPROVALS_WEBHOOK_SECRET is not set", permanent=True)
        body = json.dumps(notice.event()).encode()
        # the id stays the same on every retry, so receivers can drop duplicates
        webhook_id = f"msg_{notice.notification_id.hex}"
        stamp = int(time.time())
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(
                self._webhook_key, webhook_id=webhook_id, timestamp=stamp, body=body
            ),
        }
        await self._post(url, body, headers, "the webhook")

    async def _post(self, url: str, body: bytes, headers: dict[str, str], name: str) -> None:
        try:
            response = await self._http.post(
                url,
                content=body,
                headers={"Content-Type": "application/json", **headers},
                timeout=self._settings.send_timeout_s,
            )
        except httpx.HTTPError as exc:
            raise SendFailed(f"{name} is unreachable: {type(exc).__name__} {exc}") from exc
        if response.is_success:
            return
        status = response.status_code
        # 408 and 429 and 5xx may pass; any other refusal will be repeated
        permanent = status < 500 and status not in (408, 429)
        raise SendFailed(f"{name} answered {status}: {response.text[:200]}", permanent=permanent)
