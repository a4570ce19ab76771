"""The ``vsphere`` connector: VMware vCenter through the vSphere Automation REST API."""

from rampart.connectors.vsphere.connector import VsphereConfig, VsphereConnector

__all__ = ["VsphereConfig", "VsphereConnector"]
