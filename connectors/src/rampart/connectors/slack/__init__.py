"""The ``slack`` connector: messages through chat.postMessage and incoming webhooks."""

from rampart.connectors.slack.connector import SlackConfig, SlackConnector

__all__ = ["SlackConfig", "SlackConnector"]
