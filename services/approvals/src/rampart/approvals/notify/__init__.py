"""Notifications: every new approval stage, SLA warning and breach reaches each assignee (and
the owner of an event, phase or task whose clock warns or breaches) by e-mail, Slack, Teams or
a signed webhook, an assignee with a single-use link to a decision page.

``announce`` and ``announce_timer`` are called in the transaction of the change;
``worker.delivery_loop`` delivers; ``page.router`` serves the links.
"""

from rampart.approvals.notify.store import Reason, announce, announce_timer

__all__ = ["Reason", "announce", "announce_timer"]
