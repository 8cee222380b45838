"""Optional OpenTelemetry tracing: one span per request and a child span per provider attempt.

Spans are built after the request finished, from the generation record's own timestamps (a
RecordSink), so tracing adds nothing to the path between the provider's bytes and the caller.
Attributes follow the OpenTelemetry GenAI semantic conventions. Needs the ``opentelemetry-sdk``
package (``pip install switchyard[otel]``); the exporter is whatever the tracer provider has
(OTLP when ``tracing.otlp_endpoint`` is set and ``opentelemetry-exporter-otlp-proto-http`` is
installed). Never records prompts, completions, keys or headers.
"""

from __future__ import annotations

import time
from typing import Any

from switchyard.telemetry.record import GenerationRecord


def _ns(wall_ms: float) -> int:
    return int(wall_ms * 1_000_000)


class Tracer:
    def __init__(self, tracer_provider: Any) -> None:
        self.tracer = tracer_provider.get_tracer("switchyard")

    @classmethod
    def from_config(cls, service_name: str, otlp_endpoint: str | None) -> Tracer:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        return cls(provider)

    def submit(self, rec: GenerationRecord) -> None:
        from opentelemetry.trace import (
            SpanKind,
            Status,
            StatusCode,
            set_span_in_context,
        )

        end_wall = time.time()
        start_ms = rec.created_at * 1000
        op = "embeddings" if rec.kind == "embedding" else "chat"
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": op, "gen_ai.request.model": rec.requested_model,
            "switchyard.generation_id": rec.id, "switchyard.stream": rec.stream,
            "http.response.status_code": rec.status,
        }
        if rec.provider:
            attrs["gen_ai.provider.name"] = rec.provider
            attrs["gen_ai.response.model"] = rec.provider_model_id or ""
        if rec.usage is not None:
            attrs["gen_ai.usage.input_tokens"] = rec.usage.input_tokens
            attrs["gen_ai.usage.output_tokens"] = rec.usage.output_tokens
        if rec.finish_reason:
            attrs["gen_ai.response.finish_reasons"] = [rec.finish_reason]
        if rec.cost is not None:
            attrs["switchyard.cost_usd"] = rec.cost
        if rec.ttft_ms is not None:
            attrs["switchyard.ttft_ms"] = rec.ttft_ms
        key_id = getattr(rec.principal, "key_id", None)
        if key_id:
            attrs["switchyard.key_id"] = key_id
        root = self.tracer.start_span(f"{op} {rec.requested_model}", kind=SpanKind.SERVER,
                                      start_time=_ns(start_ms), attributes=attrs)
        if rec.status >= 400:
            root.set_status(Status(StatusCode.ERROR, rec.error or str(rec.status)))
            root.set_attribute("error.type", rec.attempts[-1].category if rec.attempts and
                               rec.attempts[-1].category else str(rec.status))
        ctx = set_span_in_context(root)
        for a in rec.attempts:
            span = self.tracer.start_span(f"attempt {a.provider}", context=ctx, kind=SpanKind.CLIENT,
                                          start_time=_ns(a.start_ms), attributes={
                                              "gen_ai.provider.name": a.provider, "gen_ai.request.model": a.model,
                                              "gen_ai.response.model": a.provider_model_id,
                                              "switchyard.attempt.success": a.success})
            if a.status is not None:
                span.set_attribute("http.response.status_code", a.status)
            if not a.success:
                span.set_attribute("error.type", a.category or "error")
                span.set_status(Status(StatusCode.ERROR, a.error or ""))
            span.end(end_time=_ns(a.end_ms or end_wall * 1000))
        root.end(end_time=_ns(end_wall * 1000))
