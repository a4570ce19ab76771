"""The SLA report's figures as Prometheus gauges."""

from __future__ import annotations

from prometheus_client import Gauge

from rampart.approvals.models import SlaReport
from rampart.core.metrics import Metrics


class ReportGauges:
    """The report's figures as Prometheus gauges on one application's registry."""

    def __init__(self, metrics: Metrics) -> None:
        registry = metrics.registry
        self.compliance = Gauge(
            "rampart_sla_compliance_ratio", "Share of finished event SLAs met, by severity",
            ["severity"], registry=registry,
        )  # fmt: skip
        self.breaches = Gauge(
            "rampart_sla_breaches", "Event SLAs breached, by severity", ["severity"],
            registry=registry,
        )  # fmt: skip
        self.acknowledge = Gauge(
            "rampart_event_time_to_acknowledge_seconds",
            "Mean time from an event's arrival to its acknowledgement, by severity",
            ["severity"], registry=registry,
        )  # fmt: skip
        self.resolve = Gauge(
            "rampart_event_time_to_resolve_seconds",
            "Mean time from an event's arrival to its close, by severity",
            ["severity"], registry=registry,
        )  # fmt: skip
        self.decide = Gauge(
            "rampart_approval_time_to_decide_seconds",
            "Mean time from an approval's request to its decision", registry=registry,
        )  # fmt: skip
        self.approvals = Gauge(
            "rampart_approvals", "Approvals by status", ["status"], registry=registry
        )

    def show(self, report: SlaReport) -> None:
        """Set every gauge from ``report``."""
        for severity, figures in report.by_severity.items():
            if figures.compliance is not None:
                self.compliance.labels(severity).set(figures.compliance)
            self.breaches.labels(severity).set(figures.slas_breached)
            if figures.time_to_acknowledge.mean_s is not None:
                self.acknowledge.labels(severity).set(figures.time_to_acknowledge.mean_s)
            if figures.time_to_resolve.mean_s is not None:
                self.resolve.labels(severity).set(figures.time_to_resolve.mean_s)
        if report.approvals.time_to_decide.mean_s is not None:
            self.decide.set(report.approvals.time_to_decide.mean_s)
        for status in ("approved", "denied", "expired", "pending"):
            self.approvals.labels(status).set(getattr(report.approvals, status))
