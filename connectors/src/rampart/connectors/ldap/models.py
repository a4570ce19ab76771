"""What the LDAP connector's actions return."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AccountState(BaseModel):
    """An account after disable or enable, and whether this call changed it."""

    user: str
    dn: str
    enabled: bool
    changed: bool
    mechanism: Literal["ppolicy", "active-directory"]


class UserRecord(BaseModel):
    """One account as the directory holds it."""

    user: str
    dn: str
    enabled: bool
    mechanism: Literal["ppolicy", "active-directory"]
    locked_since: str | None = Field(
        default=None, description="ppolicy's pwdAccountLockedTime, when the account is locked"
    )
    user_account_control: int | None = Field(
        default=None, description="Active Directory's userAccountControl flags"
    )
    attributes: dict[str, list[str]]


class Connectivity(BaseModel):
    """The directory accepted the bind; who Rampart is there."""

    url: str
    bound_as: str
    base_dn_found: bool
