"""OpenTelemetry tracing: a span per request, a child span per attempt, GenAI attributes."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from switchyard.telemetry.tracing import Tracer
from tests.e2e.test_openai_sdk import client, providers
from tests.gateway_harness import gateway, model


async def test_span_per_request_and_attempt(openai_fake, anthropic_fake):
    exporter = InMemorySpanExporter()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    openai_fake.fail(503, times=1)
    models = {"acme/chat": model({"openai": "gpt", "anthropic": "claude"})}
    async with gateway(providers(openai_fake, anthropic_fake), models,
                       routing={"order": {"*": ["openai", "anthropic"]}}) as gw:
        gw.app.sinks.add(Tracer(tp))
        await client(gw).chat.completions.create(model="acme/chat", messages=[{"role": "user", "content": "hi"}])
    spans = {s.name: s for s in exporter.get_finished_spans()}
    root = spans["chat acme/chat"]
    assert root.attributes["gen_ai.provider.name"] == "anthropic"
    assert root.attributes["gen_ai.usage.input_tokens"] == 2 and root.attributes["http.response.status_code"] == 200
    failed, ok = spans["attempt openai"], spans["attempt anthropic"]
    assert failed.parent.span_id == root.context.span_id and ok.parent.span_id == root.context.span_id
    assert failed.attributes["error.type"] == "overloaded" and failed.attributes["http.response.status_code"] == 503
    assert ok.attributes["switchyard.attempt.success"] is True
    assert root.start_time <= failed.start_time <= failed.end_time <= ok.start_time <= root.end_time
    assert not any("sk-" in str(v) for s in spans.values() for v in s.attributes.values())
