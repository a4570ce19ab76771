"""The ``defender`` connector: Microsoft Defender for Endpoint through its API."""

from rampart.connectors.defender.connector import DefenderConfig, DefenderConnector

__all__ = ["DefenderConfig", "DefenderConnector"]
