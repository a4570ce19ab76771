"""The ``panos`` connector: Palo Alto Networks firewalls through the PAN-OS XML API."""

from rampart.connectors.panos.connector import PanosConfig, PanosConnector

__all__ = ["PanosConfig", "PanosConnector"]
