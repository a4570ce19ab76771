"""Workbooks: phases and tasks on an event, each with an owner and an SLA, and templates."""
