"""ldap3, imported without the DeprecationWarning its asn1 module raises on import.

ldap3 2.9.1 reads pyasn1's old names ``tagMap`` and ``typeMap``, which pyasn1 0.6.1 and
later deprecate with a warning at attribute access: once, when ldap3 is imported. The
warning is silenced for that import alone; nothing else is.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "(tag|type)Map is deprecated", DeprecationWarning)
    from ldap3 import (
        MODIFY_ADD,
        MODIFY_DELETE,
        MODIFY_REPLACE,
        NONE,
        SUBTREE,
        Connection,
        Server,
        Tls,
    )
    from ldap3.core.exceptions import (
        LDAPCommunicationError,
        LDAPException,
        LDAPSocketOpenError,
        LDAPSocketReceiveError,
        LDAPStartTLSError,
    )
    from ldap3.utils.conv import escape_filter_chars

__all__ = [
    "MODIFY_ADD",
    "MODIFY_DELETE",
    "MODIFY_REPLACE",
    "NONE",
    "SUBTREE",
    "Connection",
    "LDAPCommunicationError",
    "LDAPException",
    "LDAPSocketOpenError",
    "LDAPSocketReceiveError",
    "LDAPStartTLSError",
    "Server",
    "Tls",
    "escape_filter_chars",
]
