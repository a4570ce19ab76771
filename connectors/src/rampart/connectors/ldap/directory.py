"""The directory operations, with ldap3 (synchronous, pure Python) run in a worker thread.

Every action opens one connection, binds as the service account, finds the account by its
user name (exactly one entry must match) and reads or changes it. Changes are idempotent:
the state is read first, and an account already disabled (or enabled) is left alone.

Active Directory's ``userAccountControl`` is a set of flags in one integer, so setting one
bit is a read-modify-write. The write is one modify request that deletes the value read and
adds the new one: if anything changed the attribute in between, the delete finds no such
value, the server refuses the whole request (``noSuchAttribute``) and the change is read and
tried again, so a concurrent change of another flag is never overwritten.
"""

from __future__ import annotations

import contextlib
import math
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rampart.connectors.ldap._ldap3 import (
    MODIFY_ADD,
    MODIFY_DELETE,
    MODIFY_REPLACE,
    NONE,
    SUBTREE,
    Connection,
    LDAPCommunicationError,
    LDAPException,
    LDAPSocketOpenError,
    LDAPSocketReceiveError,
    LDAPStartTLSError,
    Server,
    Tls,
    escape_filter_chars,
)
from rampart.connectors.ldap.config import LdapConfig
from rampart.sdk.connector import ActionError, TargetUnavailable

PERMANENTLY_LOCKED = "000001010000Z"
"""ppolicy's pwdAccountLockedTime value for an account locked until an administrator
unlocks it (draft-behera-ldap-password-policy, 5.3.3)."""
ACCOUNTDISABLE = 0x2
"""The userAccountControl flag of a disabled Active Directory account."""
LOCKED_ATTRIBUTE = "pwdAccountLockedTime"
UAC_ATTRIBUTE = "userAccountControl"
_TRANSIENT_CODES = {3, 51, 52}  # timeLimitExceeded, busy, unavailable
_NO_SUCH_ATTRIBUTE = 16
_RETRIES = 3

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Account:
    """One user entry: its DN and the attributes read, by lower-cased name."""

    dn: str
    attributes: dict[str, list[str]]

    def first(self, name: str) -> str | None:
        """The first value of an attribute, if the entry has it."""
        values = self.attributes.get(name.lower())
        return values[0] if values else None


class Directory:
    """One bound connection to the configured directory."""

    def __init__(self, config: LdapConfig, connection: Connection) -> None:
        self.config = config
        self.connection = connection

    def _failed(self, what: str) -> Exception:
        result: dict[str, Any] = self.connection.result or {}
        code = int(result.get("result", -1))
        text = f"{what}: {result.get('description', 'failed')} ({code})"
        if result.get("message"):
            text += f": {result['message']}"
        return TargetUnavailable(text) if code in _TRANSIENT_CODES else ActionError(text)

    def find(self, user: str, attributes: list[str]) -> Account:
        """The one user entry whose name attribute equals ``user``."""
        config = self.config
        query = f"(&{config.entry_filter}({config.name_attribute}={escape_filter_chars(user)}))"
        ok = self.connection.search(
            config.base_dn, query, SUBTREE, attributes=attributes, size_limit=2
        )
        code = int((self.connection.result or {}).get("result", -1))
        entries = [e for e in self.connection.response or [] if e.get("type") == "searchResEntry"]
        if code == 4 or len(entries) > 1:  # sizeLimitExceeded
            raise ActionError(f"more than one entry under {config.base_dn} is user {user!r}")
        if not ok and code not in (0, 32):
            raise self._failed(f"searching for {user!r}")
        if not entries:
            raise ActionError(f"no user {user!r} under {config.base_dn}")
        raw: dict[str, list[bytes]] = entries[0].get("raw_attributes", {})
        return Account(
            dn=str(entries[0]["dn"]),
            attributes={
                name.lower(): [v.decode("utf-8", "replace") for v in values]
                for name, values in raw.items()
            },
        )

    def modify(self, dn: str, changes: dict[str, list[tuple[str, list[str]]]]) -> int:
        """Apply one modify request; returns the result code (0 on success)."""
        self.connection.modify(dn, changes)  # type: ignore[no-untyped-call]
        return int((self.connection.result or {}).get("result", -1))


def _server(config: LdapConfig) -> Server:
    tls = None
    if config.url.startswith("ldaps://") or config.start_tls:
        tls = Tls(
            validate=ssl.CERT_REQUIRED,
            version=ssl.PROTOCOL_TLS_CLIENT,
            ca_certs_data=config.ca_cert,
        )
    return Server(
        config.url,
        use_ssl=config.url.startswith("ldaps://"),
        tls=tls,
        get_info=NONE,
        connect_timeout=config.timeout_s,
    )


def with_directory(config: LdapConfig, work: Callable[[Directory], T]) -> T:
    """Connect, bind, run ``work``, unbind; ldap3's errors mapped to the SDK's."""
    connection = Connection(
        _server(config),
        user=config.bind_dn,
        password=config.bind_password.get_secret_value(),
        receive_timeout=math.ceil(config.timeout_s),  # ldap3 packs it as whole seconds
        raise_exceptions=False,
        read_only=False,
    )
    try:
        connection.open()
        if config.start_tls and not connection.start_tls():
            raise ActionError(f"{config.url}: StartTLS was refused")
        if not connection.bind():
            result: dict[str, Any] = connection.result or {}
            raise ActionError(
                f"{config.url}: the bind as {config.bind_dn!r} was refused: "
                f"{result.get('description', 'failed')}"
            )
        return work(Directory(config, connection))
    except (LDAPSocketOpenError, LDAPSocketReceiveError, LDAPCommunicationError) as exc:
        raise TargetUnavailable(f"{config.url} is unreachable: {type(exc).__name__}") from None
    except (LDAPStartTLSError, ssl.SSLError) as exc:
        raise ActionError(f"{config.url}: TLS failed: {type(exc).__name__}") from None
    except LDAPException as exc:
        raise ActionError(f"{config.url}: {type(exc).__name__}") from None
    finally:
        with contextlib.suppress(LDAPException, OSError):
            connection.unbind()
        # A connect that failed leaves ldap3's socket object behind, open.
        leftover = getattr(connection, "socket", None)
        if leftover is not None:
            leftover.close()


def _lock_state(account: Account) -> str | None:
    return account.first(LOCKED_ATTRIBUTE)


def set_ppolicy_lock(directory: Directory, user: str, *, locked: bool) -> tuple[Account, bool]:
    """Lock (permanently) or unlock an account through pwdAccountLockedTime."""
    account = directory.find(user, [LOCKED_ATTRIBUTE])
    current = _lock_state(account)
    if locked and current == PERMANENTLY_LOCKED:
        return account, False
    if not locked and current is None:
        return account, False
    change = (MODIFY_REPLACE, [PERMANENTLY_LOCKED]) if locked else (MODIFY_DELETE, [])
    code = directory.modify(account.dn, {LOCKED_ATTRIBUTE: [change]})
    if code == _NO_SUCH_ATTRIBUTE and not locked:
        return account, False  # unlocked by someone else meanwhile
    if code != 0:
        raise directory._failed(f"{'locking' if locked else 'unlocking'} {account.dn}")
    return account, True


def user_account_control(account: Account) -> int:
    """The entry's userAccountControl flags; ActionError when it has none."""
    value = account.first(UAC_ATTRIBUTE)
    if value is None or not value.lstrip("-").isdigit():
        raise ActionError(f"{account.dn} has no userAccountControl: not an Active Directory user")
    return int(value)


def set_ad_disabled(directory: Directory, user: str, *, disabled: bool) -> tuple[Account, bool]:
    """Set or clear ACCOUNTDISABLE in userAccountControl, keeping every other flag."""
    for _ in range(_RETRIES):
        account = directory.find(user, [UAC_ATTRIBUTE])
        flags = user_account_control(account)
        wanted = flags | ACCOUNTDISABLE if disabled else flags & ~ACCOUNTDISABLE
        if wanted == flags:
            return account, False
        code = directory.modify(
            account.dn,
            {UAC_ATTRIBUTE: [(MODIFY_DELETE, [str(flags)]), (MODIFY_ADD, [str(wanted)])]},
        )
        if code == 0:
            return account, True
        if code != _NO_SUCH_ATTRIBUTE:
            raise directory._failed(f"changing userAccountControl of {account.dn}")
    raise TargetUnavailable(f"userAccountControl of {user!r} kept changing while written")
