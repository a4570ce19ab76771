"""Approval notifications: every new stage, SLA warning and breach reaches each assignee by
e-mail, Slack, Teams or a signed webhook, with a single-use link to a decision page.

``announce`` is called in the transaction of the change; ``worker.delivery_loop`` delivers;
``page.router`` serves the links.
"""

from rampart.approvals.notify.store import Reason, announce

__all__ = ["Reason", "announce"]
