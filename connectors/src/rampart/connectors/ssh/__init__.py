"""The ``ssh`` connector for Linux hosts: processes, core dumps and an nftables block set."""

from rampart.connectors.ssh.config import SshConfig
from rampart.connectors.ssh.connector import SshConnector

__all__ = ["SshConfig", "SshConnector"]
