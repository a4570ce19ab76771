"""Checking a webhook's secret or Standard Webhooks signature on the raw bytes, in constant time.

Standard Webhooks: ``webhook-signature`` holds space-separated ``v1,<base64>`` entries, each an
HMAC-SHA256 with the secret's key over ``{webhook-id}.{webhook-timestamp}.{body}``; the
timestamp is Unix seconds and must lie within the replay window of now.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from rampart.ingest.sources.secrets import LiveSecret, hash_secret, secret_key

MAX_WEBHOOK_ID = 200


class Unauthorized(Exception):
    """The request did not prove it comes from the source; the message says why."""


def check_bearer(authorization: str | None, secrets: tuple[LiveSecret, ...]) -> None:
    """Accept ``Authorization: Bearer <secret>`` matching any live secret of the source."""
    if not authorization:
        raise Unauthorized("a bearer secret is required")
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized("a bearer secret is required")
    _check_secret(presented.strip(), secrets)


def check_url_token(token: str | None, secrets: tuple[LiveSecret, ...]) -> None:
    """Accept ``?token=<secret>`` matching any live secret of a ``url-token`` source."""
    if not token:
        raise Unauthorized("the webhook URL's token is required")
    # a secret pasted into a URL unencoded has each '+' of its base64 read back as a space;
    # base64 holds no spaces, so they can only be those
    _check_secret(token.replace(" ", "+"), secrets)


def _check_secret(presented: str, secrets: tuple[LiveSecret, ...]) -> None:
    digest = hash_secret(presented.encode("utf-8", "replace"))
    matched = False
    for secret in secrets:
        # every secret is compared, so timing does not tell which one nearly matched
        matched |= hmac.compare_digest(digest, secret.hash)
    if not matched:
        raise Unauthorized("the secret is not valid for this source")


def presented_kind(
    headers: Mapping[str, str],
    *,
    window_s: int,
    now: float | None = None,
    url_token: str | None = None,
) -> str:
    """How a request tries to authenticate (``hmac``, ``bearer`` or ``url-token``), checked on
    the request alone.

    What is wrong with the request itself (a missing header, a stale timestamp) may be told;
    whether its secret matches a source is told the same way for every source, known or not.
    """
    if any(h in headers for h in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        _signature_parts(headers, window_s=window_s, now=now)
        return "hmac"
    scheme, _, presented = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and presented.strip():
        return "bearer"
    if url_token:
        return "url-token"
    raise Unauthorized("a bearer secret, a Standard Webhooks signature or a URL token is required")


def _signature_parts(
    headers: Mapping[str, str], *, window_s: int, now: float | None
) -> tuple[str, str, list[bytes]]:
    webhook_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not webhook_id or not stamp or not signatures:
        raise Unauthorized("webhook-id, webhook-timestamp and webhook-signature are required")
    if len(webhook_id) > MAX_WEBHOOK_ID or not webhook_id.isprintable():
        raise Unauthorized("webhook-id is not valid")
    if not stamp.isdigit() or len(stamp) > 12:
        raise Unauthorized("webhook-timestamp is not Unix seconds")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > window_s:
        raise Unauthorized(f"webhook-timestamp is more than {window_s} seconds from now")
    presented: list[bytes] = []
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version != "v1" or not value:
            continue
        try:
            presented.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not presented:
        raise Unauthorized("webhook-signature has no v1 signature")
    return webhook_id, stamp, presented


def check_signature(
    headers: Mapping[str, str],
    body: bytes,
    secrets: tuple[LiveSecret, ...],
    *,
    window_s: int,
    now: float | None = None,
) -> str:
    """Verify a Standard Webhooks signature; returns the ``webhook-id`` for replay checks."""
    webhook_id, stamp, presented = _signature_parts(headers, window_s=window_s, now=now)
    signed = f"{webhook_id}.{stamp}.".encode() + body
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.key, signed, hashlib.sha256).digest()
        for candidate in presented:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise Unauthorized("webhook-signature does not match")
    return webhook_id


def sign(secret: str, *, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header a sender with ``secret`` would send."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
