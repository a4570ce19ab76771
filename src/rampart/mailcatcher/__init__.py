"""The embedded mode's mail catcher: an SMTP sink on loopback whose mail the API lists.

``rampart run`` starts it when no SMTP server is configured (``RAMPART_APPROVALS_SMTP_HOST``
unset) and points the approvals service's e-mail at it, so an owner's decision link can be
read with ``rampart mail ls`` / ``rampart mail show`` (or ``GET /api/v1/mail``, admin only:
a decision link is a credential). Nothing is relayed anywhere.
"""

from rampart.mailcatcher.spec import MailCatcher, catcher_spec

__all__ = ["MailCatcher", "catcher_spec"]
