"""The ``abuseipdb`` connector: AbuseIPDB APIv2 address reputation."""

from rampart.connectors.abuseipdb.connector import AbuseIpdbConfig, AbuseIpdbConnector

__all__ = ["AbuseIpdbConfig", "AbuseIpdbConnector"]
