"""Provider health: live statistics, circuit breakers, ranking, probes. Never imports the HTTP layer."""
