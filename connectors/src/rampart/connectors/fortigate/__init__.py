"""The ``fortigate`` connector: Fortinet FortiGate firewalls through the FortiOS REST API."""

from rampart.connectors.fortigate.connector import FortigateConfig, FortigateConnector

__all__ = ["FortigateConfig", "FortigateConnector"]
