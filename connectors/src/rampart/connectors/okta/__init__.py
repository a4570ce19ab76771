"""The ``okta`` connector: Okta users suspended and unsuspended, and group membership."""

from rampart.connectors.okta.connector import OktaConfig, OktaConnector

__all__ = ["OktaConfig", "OktaConnector"]
