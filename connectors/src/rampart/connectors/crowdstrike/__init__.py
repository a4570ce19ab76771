"""The ``crowdstrike`` connector: CrowdStrike Falcon through its OAuth2 API."""

from rampart.connectors.crowdstrike.connector import CrowdstrikeConfig, CrowdstrikeConnector

__all__ = ["CrowdstrikeConfig", "CrowdstrikeConnector"]
