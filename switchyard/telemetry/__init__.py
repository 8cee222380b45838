"""Telemetry: generation records. Never imports the HTTP layer."""
