"""The ``entra`` connector: Microsoft Entra ID accounts through Microsoft Graph."""

from rampart.connectors.entra.connector import EntraConfig, EntraConnector

__all__ = ["EntraConfig", "EntraConnector"]
