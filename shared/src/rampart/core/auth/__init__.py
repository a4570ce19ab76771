"""Bearer-token authentication and role checks shared by every service."""

from rampart.core.auth._deps import CurrentPrincipal, require_roles
from rampart.core.auth._roles import Admin, Analyst, Decider, Ingester, Reader, ServiceCaller
from rampart.core.auth._tokens import (
    AUTH_SCHEMA,
    Principal,
    TokenInfo,
    create_token,
    list_tokens,
    revoke_token,
    verify_token,
)
from rampart.core.vocabulary import Role

__all__ = [
    "AUTH_SCHEMA",
    "Admin",
    "Analyst",
    "CurrentPrincipal",
    "Decider",
    "Ingester",
    "Principal",
    "Reader",
    "Role",
    "ServiceCaller",
    "TokenInfo",
    "create_token",
    "list_tokens",
    "require_roles",
    "revoke_token",
    "verify_token",
]
