"""The application: builds the gateway from a Config and routes HTTP requests to it.

This is the only module that knows both the HTTP layer and the gateway core. Routing is a dict
lookup on (method, path); the few parameterised paths are matched by prefix.
"""

from __future__ import annotations

import hmac
import importlib
import importlib.util
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import msgspec

from switchyard.accounts.auth import byok_from_gateway_options, with_byok
from switchyard.accounts.policy import check_model
from switchyard.accounts.principal import Principal
from switchyard.accounts.service import Accounts
from switchyard.api.admin import AdminAPI
from switchyard.catalog import Catalog, CatalogModel, load_catalog
from switchyard.config.model import Config
from switchyard.errors import ErrorCategory, GatewayError, RequestError
from switchyard.gateway.executor import Executor
from switchyard.gateway.frontdoor import FrontDoor
from switchyard.gateway.outcome import Outcome
from switchyard.health.probes import ProbeConfig, Prober
from switchyard.health.registry import HealthConfig, ProviderHealth
from switchyard.health.shared import SharedHealth
from switchyard.http import Request, Response, StreamResponse
from switchyard.protocols.openai_chat import OpenAIChatFrontDoor
from switchyard.protocols.openai_chat.errors import render_error
from switchyard.protocols.openai_chat.frontdoor import OpenAIEmbeddingsFrontDoor
from switchyard.providers.registry import build_adapters
from switchyard.quotas.charges import candidate_pricing
from switchyard.quotas.service import QuotaService
from switchyard.telemetry.generation_json import generation_json
from switchyard.telemetry.metrics import Metrics
from switchyard.telemetry.store import RecentRecords, SinkChain
from switchyard.upstream.client import UpstreamClient
from switchyard.usage.report import generation as usage_generation
from switchyard.usage.writer import UsageWriter

log = logging.getLogger("switchyard")

Handler = Callable[[Request], Awaitable[Response | StreamResponse]]
_API_PREFIXES = ("/v1/", "/v3/", "/v4/")

# Front-door packages that add endpoints. Each has a ``routes(app) -> {(method, path): handler}``;
# a package that is not installed is skipped.
ROUTE_MODULES = (
    "switchyard.api.usage",
    "switchyard.protocols.anthropic.routes",
    "switchyard.protocols.aisdk.routes",
    "switchyard.protocols.openai_responses.routes",
)


def _model_json(m: CatalogModel) -> dict[str, Any]:
    def prices(p: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"input": p.input, "output": p.output}
        if p.cache_read is not None:
            out["cache_read"] = p.cache_read
        if p.cache_write is not None:
            out["cache_write"] = p.cache_write
        if p.tiers:
            out["tiers"] = [msgspec.to_builtins(t) for t in p.tiers]
        return out

    out: dict[str, Any] = {
        "id": m.id, "object": "model", "created": 0, "owned_by": m.creator, "name": m.name, "type": m.type,
        "context_window": m.context_window, "max_output": m.max_output,
        "capabilities": sorted(m.capabilities),
        "pricing": {"unit": "USD per 1M tokens", **prices(m.pricing)},
        "providers": [{"provider": o.provider, "model_id": o.model_id, "context_window": o.context_window,
                       "max_output": o.max_output, "capabilities": sorted(o.capabilities),
                       "pricing": prices(o.pricing)} for o in m.offerings],
    }
    if m.dimensions:
        out["dimensions"] = m.dimensions
    return out


class App:
    def __init__(self, config: Config, catalog: Catalog | None = None, metrics_dir: str | None = None) -> None:
        """``metrics_dir``: shared by the workers of one ``serve --workers N`` (see telemetry.metrics)."""
        self.config = config
        self.catalog = catalog or load_catalog(config.models, enabled=config.providers.keys())
        self.client = UpstreamClient()
        self.records = RecentRecords()
        self.sinks = SinkChain(self.records)  # accounts and metrics add theirs
        h = config.health
        self.health = ProviderHealth(HealthConfig(half_life=h.half_life, breaker_threshold=h.breaker_threshold,
                                                  breaker_cooldown=h.breaker_cooldown,
                                                  breaker_max_cooldown=h.breaker_max_cooldown))
        self.in_flight = 0
        self.metrics = Metrics(self.health.snapshot, lambda: self.in_flight, self.client.open_connections,
                               share_dir=metrics_dir)
        self.sinks.add(self.metrics)
        self.sinks.add(self)  # counts finished requests for in_flight
        if config.tracing.enabled:
            from switchyard.telemetry.tracing import Tracer

            self.sinks.add(Tracer.from_config(config.tracing.service_name, config.tracing.otlp_endpoint))
        self.adapters = build_adapters(config.providers)
        self.executor = Executor(self.catalog, config.routing, self.adapters, self.client, self.sinks, self.health)
        self.instance_id = f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"
        self.prober = Prober([ProbeConfig(**msgspec.structs.asdict(p)) for p in h.probes], self.catalog,
                             self.adapters, self.client, self.health)
        self.redis: Any = None
        self.shared_health: SharedHealth | None = None
        self.openai = OpenAIChatFrontDoor()
        self.openai_embeddings = OpenAIEmbeddingsFrontDoor()
        self.started = time.time()
        # The catalog never changes while running: its JSON is rendered once.
        self._models_list = msgspec.json.encode({"object": "list",
                                                 "data": [_model_json(m) for m in self.catalog]})
        self._models = {m.id: msgspec.json.encode(_model_json(m)) for m in self.catalog}
        # Anthropic clients (they send anthropic-version) get Anthropic's list shape.
        anthropic_models = [{"type": "model", "id": m.id, "display_name": m.name, "created_at": "2025-01-01T00:00:00Z"}
                            for m in self.catalog]
        self._anthropic_models_list = msgspec.json.encode({
            "data": anthropic_models, "has_more": False,
            "first_id": anthropic_models[0]["id"] if anthropic_models else None,
            "last_id": anthropic_models[-1]["id"] if anthropic_models else None})
        self._anthropic_models = {m["id"]: msgspec.json.encode(m) for m in anthropic_models}
        self._routes: dict[tuple[str, str], Handler] = {
            ("POST", "/v1/chat/completions"): self.chat_completions,
            ("POST", "/v1/embeddings"): self.embeddings,
            ("GET", "/v1/models"): self.list_models,
            ("GET", "/health"): self.health_check,
            ("GET", "/health/live"): self.health_check,
            ("GET", "/health/ready"): self.health_check,
            ("GET", "/v1/generation"): self.generation,
            ("GET", "/admin/health"): self.provider_health,
            ("GET", "/metrics"): self.metrics_endpoint,
        }
        self.quotas = QuotaService(config.quotas, redis_url=config.redis.url, region=config.redis.region,
                                   instance_id=self.instance_id)
        self.usage = UsageWriter(config.usage)
        self.sinks.add(self.quotas)  # settles each request's reservation
        self.sinks.add(self.usage)  # the durable generation record
        self.accounts = Accounts(config.accounts)
        self.admin_api = AdminAPI(self.accounts)
        self._routes.update(self.admin_api.routes())
        # Errors raised before a front door parsed anything (413, malformed HTTP, unknown path) are
        # rendered by the door that owns the path prefix; OpenAI's shape by default.
        self._error_doors: list[tuple[str, FrontDoor]] = []
        for name in ROUTE_MODULES:
            if importlib.util.find_spec(name.rsplit(".", 1)[0]) is not None \
                    and importlib.util.find_spec(name) is not None:
                self._routes.update(importlib.import_module(name).routes(self))

    async def start(self) -> None:
        """Background work: event-loop lag sampling, active probes, health sharing through Redis."""
        await self.accounts.start()
        await self.quotas.start()
        await self.usage.start()
        self.metrics.start()
        self.prober.start()
        if self.config.redis.url:
            import redis.asyncio as aioredis

            self.redis = aioredis.from_url(self.config.redis.url)
            self.shared_health = SharedHealth(self.health, self.redis, self.instance_id, self.config.redis.region,
                                              interval=self.config.health.share_interval)
            self.shared_health.start()

    async def close(self) -> None:
        await self.prober.stop()
        await self.accounts.close()
        await self.quotas.close()
        await self.usage.close()
        if self.shared_health is not None:
            await self.shared_health.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.metrics.stop()
        await self.client.close()

    def submit(self, rec: Any) -> None:
        """RecordSink: a request that reached the executor has finished."""
        self.in_flight -= 1

    # ---- dispatch ----

    async def handle(self, request: Request) -> Response | StreamResponse:
        if request.path.startswith(_API_PREFIXES):
            # Every API endpoint, not only generations, answers to authenticated callers only
            # (when authentication is required); the principal rides on the request.
            try:
                request.state = await self.accounts.authenticator.authenticate(request.headers)
            except GatewayError as err:
                return self._error(err, request)
        handler = self._routes.get((request.method, request.path))
        if handler is not None:
            return await handler(request)
        if request.method == "GET" and request.path.startswith("/v1/models/"):
            return self.get_model(request)
        if request.path.startswith("/admin/"):
            answer = await self.admin_api.handle(request)
            if answer is not None:
                return answer
        if any(path == request.path for _, path in self._routes):
            return self._error(RequestError(f"Method {request.method} is not allowed on {request.path}.",
                                            status=405), request)
        return self._error(RequestError(f"Unknown path {request.path}.", status=404,
                                        category=ErrorCategory.NOT_FOUND, code="unknown_url"), request)

    def register_error_door(self, prefix: str, door: FrontDoor) -> None:
        self._error_doors.append((prefix, door))
        self._error_doors.sort(key=lambda item: -len(item[0]))

    def error_response(self, status: int, message: str, request: Request | None) -> Response:
        """Errors raised by the HTTP layer itself (413, 400 malformed HTTP, 500)."""
        category = {413: ErrorCategory.REQUEST_TOO_LARGE}.get(status, ErrorCategory.INVALID_REQUEST
                                                               if status < 500 else ErrorCategory.SERVER_ERROR)
        return self._error(GatewayError(category, message, status=status), request)

    def _error(self, err: GatewayError, request: Request | None = None) -> Response:
        if request is not None:
            for prefix, door in self._error_doors:
                if request.path.startswith(prefix):
                    return Response(door.error_status(err), door.render_error(err, None))
        return Response(err.status, render_error(err))

    @staticmethod
    def _respond(outcome: Outcome) -> Response | StreamResponse:
        if outcome.stream is not None:
            return StreamResponse(outcome.status, outcome.stream, outcome.headers, outcome.content_type)
        return Response(outcome.status, outcome.body, outcome.headers, outcome.content_type)

    async def serve(self, door: FrontDoor, request: Request) -> Response | StreamResponse:
        """Authenticate, parse with ``door``, check the caller may use the models, run through the
        executor, answer in the door's format."""
        try:
            principal = request.state if isinstance(request.state, Principal) \
                else await self.accounts.authenticator.authenticate(request.headers)
            inbound = door.parse(request.body, request.headers)
            check_model(principal, inbound.route.model)
            for fallback in inbound.route.fallbacks:
                check_model(principal, fallback)
            byok = byok_from_gateway_options(inbound.raw.get("providerOptions") or inbound.raw.get("provider_options"))
            if byok:
                principal = with_byok(principal, byok)
            route = inbound.route
            pricings, max_output = candidate_pricing(self.catalog, route.model, route.fallbacks,
                                                     self.config.routing.fallbacks)
            # Rate limits and budget: answered from this instance's lease, no Redis round trip.
            reservation = await self.quotas.admit(principal, route, pricings, max_output)
        except GatewayError as err:
            return Response(door.error_status(err), door.render_error(err, None), getattr(err, "headers", None))
        self.in_flight += 1  # until the executor submits the record (a stream: when it ends)
        try:
            outcome = await self.executor.run(door, inbound, principal=principal, reservation=reservation)
        except BaseException:
            self.in_flight -= 1 if self.in_flight > 0 else 0
            reservation.release()
            raise
        outcome.headers.extend(reservation.headers())
        return self._respond(outcome)

    async def require_admin(self, request: Request) -> None:
        """For admin-only endpoints outside the admin API (usage, provider health)."""
        if self.accounts.authenticator.required:
            await self.accounts.authenticator.authenticate_admin(request.headers)

    # ---- endpoints ----

    async def chat_completions(self, request: Request) -> Response | StreamResponse:
        return await self.serve(self.openai, request)

    async def embeddings(self, request: Request) -> Response | StreamResponse:
        return await self.serve(self.openai_embeddings, request)

    async def list_models(self, request: Request) -> Response:
        if "anthropic-version" in request.headers:
            return Response(200, self._anthropic_models_list)
        return Response(200, self._models_list)

    def get_model(self, request: Request) -> Response:
        model_id = unquote(request.path[len("/v1/models/"):])
        models = self._anthropic_models if "anthropic-version" in request.headers else self._models
        body = models.get(model_id)
        if body is None:
            return self._error(RequestError(f"The model '{model_id}' does not exist.", param="model",
                                            status=404, category=ErrorCategory.MODEL_NOT_FOUND,
                                            code="model_not_found"))
        return Response(200, body)

    async def health_check(self, request: Request) -> Response:
        return Response(200, msgspec.json.encode({
            "status": "ok", "uptime_s": round(time.time() - self.started, 1),
            "providers": sorted(self.config.providers), "models": len(self.catalog)}))

    async def metrics_endpoint(self, request: Request) -> Response:
        token = self.config.server.metrics_token
        if token is not None:
            sent = request.headers.get("authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
                return Response(401, render_error(GatewayError(
                    ErrorCategory.AUTHENTICATION, "GET /metrics needs Authorization: Bearer <server.metrics_token>.")),
                    headers=[("www-authenticate", "Bearer")])
        return Response(200, self.metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")

    async def provider_health(self, request: Request) -> Response:
        """Every provider-model this instance has used: statistics, score and circuit state (admin)."""
        try:
            await self.require_admin(request)
        except GatewayError as err:
            return self._error(err, request)
        remote = {f"{p}/{m}": {"score": v[0], "ttft_s": v[1], "tokens_per_s": v[2]}
                  for (p, m), v in self.health.remote.items()}
        return Response(200, msgspec.json.encode({"instance": self.instance_id, "providers": self.health.snapshot(),
                                                  "shared": remote, "probes_sent": self.prober.sent}))

    async def generation(self, request: Request) -> Response:
        """``GET /v1/generation?id=gen_...`` in the AI Gateway's shape (what ``getGenerationInfo`` reads)."""
        gen_id = request.query_params().get("id", "")
        rec = self.records.get(gen_id) or await usage_generation(self.usage, gen_id)
        caller = request.state
        if rec is not None and isinstance(caller, Principal) and caller.key_id and not caller.is_admin \
                and getattr(rec.principal, "key_id", None) != caller.key_id:
            rec = None  # another key's generation: as if it did not exist
        if rec is None:
            return self._error(RequestError(f"No generation with id '{gen_id}'.", param="id", status=404,
                                            category=ErrorCategory.NOT_FOUND, code="not_found"))
        return Response(200, generation_json(rec))
