"""The ``splunk`` connector: SPL searches through Splunk's search jobs REST API."""

from rampart.connectors.splunk.connector import SplunkConfig, SplunkConnector

__all__ = ["SplunkConfig", "SplunkConnector"]
