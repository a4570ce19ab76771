"""The ``smtp`` connector: sends e-mail through an SMTP submission server."""

from rampart.connectors.smtp.connector import SmtpConfig, SmtpConnector

__all__ = ["SmtpConfig", "SmtpConnector"]
