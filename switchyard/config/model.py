"""Typed configuration objects. Built once at startup by ``config.load`` and passed down; nothing here
is module-level mutable state."""

from __future__ import annotations

from typing import Any

import msgspec

from switchyard.accounts.config import AccountsConfig
from switchyard.quotas.config import QuotaConfig
from switchyard.usage.config import UsageConfig


class Timeouts(msgspec.Struct, frozen=True):
    """Seconds. ``first_byte`` runs from sending the request to the first byte of the body (the
    first stream event when streaming); ``total`` bounds the whole attempt, stream included."""

    connect: float = 10.0
    first_byte: float = 120.0
    total: float = 600.0


class ProviderConfig(msgspec.Struct, frozen=True):
    """One upstream provider: where it is, which wire protocol it speaks and how we authenticate.

    ``options`` holds protocol-specific settings (``anthropic_version``, ``api_version``, ...), read
    only by that protocol's adapter. ``headers`` are sent on every request to this provider."""

    slug: str
    protocol: str
    base_url: str
    api_key: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    timeouts: Timeouts = Timeouts()
    options: dict[str, Any] = msgspec.field(default_factory=dict)

    def __repr__(self) -> str:  # never print the key
        return f"ProviderConfig(slug={self.slug!r}, protocol={self.protocol!r}, base_url={self.base_url!r})"

    __str__ = __repr__


class RoutingConfig(msgspec.Struct, frozen=True):
    # Provider preference per catalog model ("*" applies to every model without its own entry).
    order: dict[str, list[str]] = msgspec.field(default_factory=dict)
    # Fallback models per catalog model, tried after the model's own providers are exhausted.
    fallbacks: dict[str, list[str]] = msgspec.field(default_factory=dict)
    # Wait for a provider's retry-after only when it is this short and nothing else is left to try.
    max_retry_wait: float = 2.0
    # How many attempts one request may make in all, across providers and models.
    max_attempts: int = 8
    # Default provider ranking for models without an order: None (health, then load balancing),
    # "cost", "ttft" or "tps". Callers override it with providerOptions.gateway.sort.
    sort: str | None = None
    # Hedging: when the first provider has not produced its first token within ``hedge_after``
    # seconds (or, with hedge_after = "p95", its recent 95th percentile TTFT), start the next one too
    # and keep whichever answers first. Off by default: it can double the cost of slow requests.
    hedge: bool = False
    hedge_after: float | str = "p95"
    hedge_min: float = 0.5  # never hedge sooner than this


class ServerConfig(msgspec.Struct, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8787
    workers: int = 1
    max_body_bytes: int = 20 * 1024 * 1024
    # Seconds an idle keep-alive connection from a client is kept open.
    keepalive_timeout: float = 75.0
    # Bearer token GET /metrics requires (its samples name key ids, models and costs). None: open,
    # for a scraper on a private network.
    metrics_token: str | None = None


class ProbeSettings(msgspec.Struct, frozen=True):
    provider: str
    model: str  # catalog id
    interval: float = 30.0
    jitter: float = 0.2
    prompt: str = "Reply with one word: ok"
    max_tokens: int = 4


class HealthSettings(msgspec.Struct, frozen=True):
    half_life: float = 60.0  # seconds for old observations to count half
    breaker_threshold: int = 5
    breaker_cooldown: float = 10.0
    breaker_max_cooldown: float = 300.0
    probes: list[ProbeSettings] = []
    share_interval: float = 1.0  # seconds between health exchanges through Redis (when configured)


class RedisConfig(msgspec.Struct, frozen=True):
    """The region's Redis, shared by every gateway instance of the region (None: embedded mode)."""

    url: str | None = None
    region: str = "default"


class TracingConfig(msgspec.Struct, frozen=True):
    enabled: bool = False
    service_name: str = "switchyard"
    otlp_endpoint: str | None = None  # e.g. http://127.0.0.1:4318/v1/traces


class Config(msgspec.Struct, frozen=True):
    accounts: AccountsConfig = AccountsConfig()
    server: ServerConfig = ServerConfig()
    health: HealthSettings = HealthSettings()
    redis: RedisConfig = RedisConfig()
    quotas: QuotaConfig = QuotaConfig()
    usage: UsageConfig = UsageConfig()
    tracing: TracingConfig = TracingConfig()
    providers: dict[str, ProviderConfig] = msgspec.field(default_factory=dict)
    # Catalog additions and overrides, same shape as the shipped catalog's entries.
    models: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    routing: RoutingConfig = RoutingConfig()
