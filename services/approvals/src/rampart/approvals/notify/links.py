"""Decision links: signed, expiring tokens bound to one assignee, one stage and one action.

A token is ``<payload>.<mac>``, both base64url without padding. The payload is the compact
JSON of the link's id, the approval, the stage's index, the assignee, the fingerprint of the
action and the expiry (Unix seconds); the MAC is HMAC-SHA256 over ``rampart.link.v1.`` and
the payload, with a key derived (HKDF-SHA256) from ``RAMPART_APPROVALS_LINK_SECRET`` or, when
that is unset, from the master key. Single use is kept by the service (a link's id is stored
when it decides), not by the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

RefusalReason = Literal[
    "forged", "expired", "replayed", "other_stage", "other_assignee", "changed", "finished"
]
_PREFIX = b"rampart.link.v1."
MAX_TOKEN = 1024


@dataclass(frozen=True, slots=True)
class LinkClaims:
    """What a decision link says: whose, for which stage of which approval, until when."""

    link_id: UUID
    approval_id: UUID
    stage_index: int
    owner_id: UUID
    fingerprint: str
    expires_at: datetime


class LinkRefused(Exception):
    """A decision link may not be used; ``claims`` is what it said, when it could be read."""

    def __init__(self, reason: RefusalReason, message: str, claims: LinkClaims | None) -> None:
        super().__init__(message)
        self.reason: RefusalReason = reason
        self.message = message
        self.claims = claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: str) -> bytes:
    """The links' 32-byte key from a secret (the master key's text, or a dedicated secret)."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"rampart.approvals",
        info=b"rampart.approvals.decision-links.v1",
    ).derive(secret.strip().encode("utf-8"))


class LinkSigner:
    """Makes and checks decision links with one key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a link key needs at least 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "LinkSigner(<key>)"

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, _PREFIX + payload.encode("ascii"), hashlib.sha256).digest()

    def mint(self, claims: LinkClaims) -> str:
        """The token of ``claims``."""
        body = {
            "n": str(claims.link_id),
            "a": str(claims.approval_id),
            "s": claims.stage_index,
            "o": str(claims.owner_id),
            "f": claims.fingerprint,
            "e": int(claims.expires_at.timestamp()),
        }
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{_b64(self._mac(payload))}"

    def read(self, token: str, *, now: datetime) -> LinkClaims:
        """The claims of a genuine, unexpired token; raises ``LinkRefused`` otherwise."""
        payload, dot, mac_text = token.partition(".")
        if not dot or len(token) > MAX_TOKEN or not payload.isascii():
            raise LinkRefused("forged", "this is not a Rampart decision link", None)
        claims = _parse(payload)
        try:
            presented = _unb64(mac_text)
        except (binascii.Error, ValueError):
            presented = b""
        if not hmac.compare_digest(self._mac(payload), presented) or claims is None:
            raise LinkRefused("forged", "this decision link was not issued by Rampart", claims)
        if now >= claims.expires_at:
            raise LinkRefused("expired", "this decision link has expired", claims)
        return claims


def _parse(payload: str) -> LinkClaims | None:
    try:
        body = json.loads(_unb64(payload))
        return LinkClaims(
            link_id=UUID(body["n"]),
            approval_id=UUID(body["a"]),
            stage_index=int(body["s"]),
            owner_id=UUID(body["o"]),
            fingerprint=str(body["f"]),
            expires_at=datetime.fromtimestamp(int(body["e"]), UTC),
        )
    except (binascii.Error, ValueError, TypeError, KeyError, OverflowError):
        return None
