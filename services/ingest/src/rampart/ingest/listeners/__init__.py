"""Events that ingest receives or fetches itself: syslog CEF listeners and QRadar pollers."""
