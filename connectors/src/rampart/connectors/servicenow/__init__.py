"""The ``servicenow`` connector: incidents through the ServiceNow Table API."""

from rampart.connectors.servicenow.connector import ServiceNowConfig, ServiceNowConnector

__all__ = ["ServiceNowConfig", "ServiceNowConnector"]
