"""Routing: plan attempts and decide failover. Never imports the HTTP layer."""
