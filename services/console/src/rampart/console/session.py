"""The signed-in person's session: their token, sealed into an HttpOnly, SameSite cookie.

The cookie holds the API token encrypted and authenticated with the installation's master key
(AES-GCM, ``rampart.core.crypto``), so it can neither be read nor forged by the browser or
anyone who sees it; every page calls the APIs with that token, so a revoked or expired token
ends the session at the next page. Each session carries a random CSRF value that every form
posts back (the synchronizer-token pattern); the sign-in form, which has no session yet, uses
a double-submit cookie.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from rampart.core.crypto import DecryptionError, Keyring, open_json, seal_json

__all__ = [
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "Session",
    "clear_session",
    "new_login_nonce",
    "read_session",
    "same_value",
    "set_login_nonce",
    "start_session",
]

SESSION_COOKIE = "rampart_session"
LOGIN_COOKIE = "rampart_login"
SESSION_TTL_S = 12 * 3600
_AAD = b"rampart.console.session.v1"


@dataclass(frozen=True)
class Session:
    """Who is signed in: their token, and the CSRF value their forms carry."""

    token: str
    csrf: str
    started_at: float


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def same_value(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a posted CSRF value."""
    return bool(given) and hmac.compare_digest(str(given), expected)


def start_session(response: Response, request: Request, keyring: Keyring, token: str) -> Session:
    """Seal ``token`` into the session cookie on ``response``."""
    session = Session(token=token, csrf=secrets.token_urlsafe(24), started_at=time.time())
    sealed = seal_json(
        {"token": session.token, "csrf": session.csrf, "at": session.started_at},
        keyring=keyring,
        associated_data=_AAD,
    )
    response.set_cookie(
        SESSION_COOKIE,
        base64.urlsafe_b64encode(sealed).decode(),
        max_age=SESSION_TTL_S,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return session


def read_session(request: Request, keyring: Keyring) -> Session | None:
    """The session of this request's cookie, or None when there is none or it is not valid."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        opened = open_json(base64.urlsafe_b64decode(raw), keyring=keyring, associated_data=_AAD)
    except (DecryptionError, ValueError):
        return None
    started = float(opened.get("at", 0))
    if time.time() - started > SESSION_TTL_S:
        return None
    token, csrf = opened.get("token"), opened.get("csrf")
    if not isinstance(token, str) or not isinstance(csrf, str):
        return None
    return Session(token=token, csrf=csrf, started_at=started)


def clear_session(response: Response) -> None:
    """Sign out: the cookie is gone."""
    response.delete_cookie(SESSION_COOKIE, path="/")


def new_login_nonce(request: Request) -> str:
    """The sign-in form's CSRF value: the browser's current one, else a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def set_login_nonce(response: Response, request: Request, nonce: str) -> None:
    """Set the sign-in form's CSRF value as a short-lived cookie (the double submit)."""
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
