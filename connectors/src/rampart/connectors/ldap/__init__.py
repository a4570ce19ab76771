"""The ``ldap`` connector: disables, enables and looks up accounts in an LDAP directory."""

from rampart.connectors.ldap.config import LdapConfig
from rampart.connectors.ldap.connector import LdapConnector

__all__ = ["LdapConfig", "LdapConnector"]
