"""The gateway core: front-door contract, executor (attempts, failover, streaming)."""
