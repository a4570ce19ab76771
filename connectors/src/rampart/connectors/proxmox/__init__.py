"""The ``proxmox`` connector: Proxmox VE virtual machines through the Proxmox VE API."""

from rampart.connectors.proxmox.connector import ProxmoxConfig, ProxmoxConnector

__all__ = ["ProxmoxConfig", "ProxmoxConnector"]
