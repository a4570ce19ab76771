"""Workbook templates: the phases and tasks a source or an analyst can give an event."""

from __future__ import annotations

from rampart.ingest.workbook.models import PhaseSpec, TaskCreate

# NIST SP 800-61 (Computer Security Incident Handling Guide): the incident response life cycle
NIST_800_61: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        name="Detection & Analysis",
        sla_minutes=60,
        tasks=[
            TaskCreate(phase="Detection & Analysis", name="Validate the alert", sla_minutes=30),
            TaskCreate(
                phase="Detection & Analysis",
                name="Scope affected hosts and accounts",
                sla_minutes=60,
            ),
            TaskCreate(phase="Detection & Analysis", name="Set severity and owner", sla_minutes=30),
        ],
    ),
    PhaseSpec(
        name="Containment",
        sla_minutes=240,
        tasks=[
            TaskCreate(phase="Containment", name="Isolate affected hosts", sla_minutes=120),
            TaskCreate(phase="Containment", name="Block malicious indicators", sla_minutes=120),
            TaskCreate(phase="Containment", name="Preserve evidence", sla_minutes=240),
        ],
    ),
    PhaseSpec(
        name="Eradication",
        sla_minutes=1440,
        tasks=[
            TaskCreate(phase="Eradication", name="Remove malicious artifacts", sla_minutes=1440),
            TaskCreate(phase="Eradication", name="Reset compromised credentials", sla_minutes=720),
        ],
    ),
    PhaseSpec(
        name="Recovery",
        sla_minutes=2880,
        tasks=[
            TaskCreate(phase="Recovery", name="Restore normal operation", sla_minutes=2880),
            TaskCreate(phase="Recovery", name="Watch for recurrence", sla_minutes=2880),
        ],
    ),
    PhaseSpec(
        name="Post-Incident Activity",
        sla_minutes=10080,
        tasks=[
            TaskCreate(
                phase="Post-Incident Activity",
                name="Hold a lessons-learned review",
                sla_minutes=10080,
            ),
            TaskCreate(
                phase="Post-Incident Activity",
                name="Improve detections and playbooks",
                sla_minutes=10080,
            ),
        ],
    ),
)
TEMPLATES: dict[str, tuple[PhaseSpec, ...]] = {"nist-800-61": NIST_800_61}
