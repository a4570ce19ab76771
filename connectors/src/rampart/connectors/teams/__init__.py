"""The ``teams`` connector: messages to Microsoft Teams channels through incoming webhooks."""

from rampart.connectors.teams.connector import TeamsConfig, TeamsConnector

__all__ = ["TeamsConfig", "TeamsConnector"]
