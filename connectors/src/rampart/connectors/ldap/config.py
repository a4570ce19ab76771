"""How an LDAP directory asset is configured: server, bind account, where users are, and
which way an account is disabled (OpenLDAP's password policy or Active Directory's flag)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from rampart.sdk.connector import AssetConfig

AttributeName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")]


class LdapConfig(AssetConfig):
    """One directory, reached as one service account.

    ``mechanism`` says what disabling means: ``ppolicy`` sets OpenLDAP's password-policy
    ``pwdAccountLockedTime`` to ``000001010000Z`` (locked until an administrator unlocks),
    ``active-directory`` sets the ACCOUNTDISABLE bit (2) of ``userAccountControl``.
    """

    url: str = Field(
        pattern=r"^ldaps?://[^/\s]+/?$", description="ldap://host:389 or ldaps://host:636"
    )
    start_tls: bool = Field(default=False, description="upgrade ldap:// with StartTLS")
    ca_cert: str | None = Field(
        default=None,
        max_length=100_000,
        description="PEM certificate(s) to verify the server with instead of the system's CAs",
    )
    bind_dn: str = Field(min_length=1, max_length=1000)
    bind_password: SecretStr
    base_dn: str = Field(min_length=1, max_length=1000, description="where users are searched")
    mechanism: Literal["ppolicy", "active-directory"] = "ppolicy"
    user_attribute: AttributeName | None = Field(
        default=None,
        description="the attribute holding the user name: default uid, or sAMAccountName "
        "for active-directory",
    )
    user_filter: str | None = Field(
        default=None,
        max_length=1000,
        pattern=r"^\(.*\)$",
        description="an LDAP filter every user entry matches: default (objectClass=inetOrgPerson)"
        ", or (&(objectCategory=person)(objectClass=user)) for active-directory",
    )
    lookup_attributes: list[AttributeName] = Field(
        default_factory=lambda: ["cn", "displayName", "mail", "memberOf"],
        max_length=50,
        description="attributes lookup user returns, besides the account's state",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _tls_once(self) -> LdapConfig:
        if self.start_tls and self.url.startswith("ldaps://"):
            raise ValueError("start_tls is for ldap:// URLs; ldaps:// is TLS already")
        return self

    @property
    def name_attribute(self) -> str:
        """The attribute a user name is matched against."""
        if self.user_attribute:
            return self.user_attribute
        return "sAMAccountName" if self.mechanism == "active-directory" else "uid"

    @property
    def entry_filter(self) -> str:
        """The filter every user entry matches."""
        if self.user_filter:
            return self.user_filter
        if self.mechanism == "active-directory":
            return "(&(objectCategory=person)(objectClass=user))"
        return "(objectClass=inetOrgPerson)"
