"""The ``virustotal`` connector: VirusTotal API v3 reputation of IPs, hashes, domains, URLs."""

from rampart.connectors.virustotal.connector import VirusTotalConfig, VirusTotalConnector

__all__ = ["VirusTotalConfig", "VirusTotalConnector"]
