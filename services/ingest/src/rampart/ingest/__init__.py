"""The ingest service: events in from SIEMs, stored once, changed by analysts and playbooks.

Where things are: ``events/`` (what an event is, where it is written and changed),
``sources/`` (who may send), ``webhook/`` (the route SIEMs post to), ``adapters/`` (each
SIEM's payload into one event shape), ``listeners/`` (syslog and the QRadar poller) and
``workbook/`` (phases and tasks on an event).
"""

SCHEMA = "ingest"
"""The database schema every ingest table, the outbox and the inbox live in."""

SOURCE = "rampart/ingest"
"""The CloudEvents ``source`` of every message ingest publishes."""
