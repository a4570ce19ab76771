"""The ``jira`` connector: issues through the Jira Cloud platform REST API v3."""

from rampart.connectors.jira.connector import JiraConfig, JiraConnector

__all__ = ["JiraConfig", "JiraConnector"]
