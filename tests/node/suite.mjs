// The end-to-end suite shared by every AI SDK major: the real `ai` + `@ai-sdk/gateway` packages,
// retargeted at a running Switchyard with createGateway({ baseURL: GATEWAY_URL + prefix }).
//
// Environment (set by tests/e2e/test_aisdk_node.py):
//   GATEWAY_URL            http://127.0.0.1:PORT (required; without it every test is skipped)
//   AISDK_OPENAI_MODEL     a language model served by an OpenAI-protocol provider (echoes the prompt)
//   AISDK_ANTHROPIC_MODEL  a language model served by an Anthropic-protocol provider
//   AISDK_EMBED_MODEL      an embedding model
//   AISDK_FAILING_MODEL    a model whose only provider always answers 503
//   AISDK_FLAKY_MODEL      a model whose provider cuts every stream after its first content
//   AISDK_GENERATION_FIXTURE  a file holding switchyard.protocols.aisdk.metadata.generation_json output

import { readFile } from 'node:fs/promises';
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';

const GATEWAY_URL = process.env.GATEWAY_URL;
export const MODELS = {
  openai: process.env.AISDK_OPENAI_MODEL ?? 'acme/gpt',
  anthropic: process.env.AISDK_ANTHROPIC_MODEL ?? 'acme/claude',
  embed: process.env.AISDK_EMBED_MODEL ?? 'acme/embed',
  failing: process.env.AISDK_FAILING_MODEL ?? 'acme/broken',
  flaky: process.env.AISDK_FLAKY_MODEL ?? 'acme/flaky',
};
const THINKING = { anthropic: { thinking: { type: 'enabled', budgetTokens: 1024 } } };

function gatewayMeta(providerMetadata) {
  const meta = providerMetadata?.gateway;
  assert.ok(meta, 'providerMetadata.gateway is present');
  assert.match(meta.generationId, /^gen_[0-9A-Z]{26}$/);
  assert.equal(typeof meta.cost, 'string');
  return meta;
}

// The error a failed call rejects with, unwrapped from ai's RetryError when there is one.
function unwrap(err) {
  return err?.lastError ?? err;
}

/**
 * @param {{name: string, ai: string, gateway: string, prefix: string, spec: string}} major
 *   ai / gateway: the module names of that major's `ai` and `@ai-sdk/gateway` (npm aliases for older ones)
 */
export function defineSuite(major) {
  describe(major.name, { skip: GATEWAY_URL ? false : 'GATEWAY_URL is not set' }, () => {
    let ai;
    let gw;
    let errorsModule;

    before(async () => {
      ai = await import(major.ai);
      errorsModule = await import(major.gateway);
      gw = errorsModule.createGateway({ baseURL: GATEWAY_URL + major.prefix, apiKey: 'test-key' });
    });

    const embeddingModel = (id) => (gw.embeddingModel ?? gw.textEmbeddingModel).call(gw, id);
    const weatherTool = () => ai.tool({
      description: 'Weather for a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => `sunny in ${city}`,
    });

    test('generateText through an OpenAI-protocol provider', async () => {
      const result = await ai.generateText({
        model: gw(MODELS.openai),
        prompt: 'hello world',
        maxOutputTokens: 50,
        temperature: 0.2,
        providerOptions: { gateway: { order: ['openai'], tags: ['t1'], user: 'u-1' } },
      });
      assert.equal(result.text, 'echo: hello world');
      assert.equal(result.finishReason, 'stop');
      assert.equal(result.usage.inputTokens, 3);
      assert.equal(result.usage.outputTokens, 3);
      assert.equal(result.usage.totalTokens, 6);
      const meta = gatewayMeta(result.providerMetadata);
      assert.equal(meta.routing.resolvedProvider, 'openai');
      assert.equal(meta.routing.originalModelId, MODELS.openai);
    });

    test('generateText through an Anthropic-protocol provider, with reasoning', async () => {
      const result = await ai.generateText({
        model: gw(MODELS.anthropic), system: 'be brief', prompt: 'hello claude', providerOptions: THINKING,
      });
      assert.equal(result.text, 'echo: hello claude');
      assert.equal(result.reasoningText, 'Thinking about: hello claude');
      assert.equal(gatewayMeta(result.providerMetadata).routing.resolvedProvider, 'anthropic');
    });

    test('streamText', async () => {
      const result = ai.streamText({ model: gw(MODELS.openai), prompt: 'stream me please' });
      let first;
      let text = '';
      for await (const part of result.fullStream) {
        if (first === undefined && part.type === 'text-start') first = part;
        if (part.type === 'text-delta') text += part.text ?? part.delta ?? part.textDelta;
        if (part.type === 'error') throw part.error;
      }
      assert.equal(text, 'echo: stream me please');
      assert.equal(await result.text, 'echo: stream me please');
      assert.equal(await result.finishReason, 'stop');
      const usage = await result.usage;
      assert.equal(usage.inputTokens, 4);
      assert.equal(usage.outputTokens, 4);
      const meta = gatewayMeta(await result.providerMetadata);
      assert.equal((await result.response).id, meta.generationId);
      // The generation id is on the first content part already.
      assert.equal(first?.providerMetadata?.gateway?.generationId, meta.generationId);
    });

    test('two-step tool loop with generateText', async () => {
      const result = await ai.generateText({
        model: gw(MODELS.openai),
        tools: { get_weather: weatherTool() },
        stopWhen: ai.stepCountIs(2),
        prompt: 'call get_weather {"city":"Paris"}',
      });
      assert.equal(result.steps.length, 2);
      const [call] = result.steps[0].toolCalls;
      assert.equal(call.toolName, 'get_weather');
      assert.deepEqual(call.input, { city: 'Paris' });
      assert.equal(result.steps[0].finishReason, 'tool-calls');
      assert.equal(result.steps[0].toolResults[0].output, 'sunny in Paris');
      assert.equal(result.text, 'tool said: sunny in Paris');
      assert.equal(result.finishReason, 'stop');
    });

    test('two-step tool loop with streamText, Anthropic reasoning sent back', async () => {
      const result = ai.streamText({
        model: gw(MODELS.anthropic),
        tools: { get_weather: weatherTool() },
        stopWhen: ai.stepCountIs(2),
        providerOptions: THINKING,
        prompt: 'call get_weather {"city":"Oslo"}',
      });
      const kinds = new Set();
      for await (const part of result.fullStream) {
        kinds.add(part.type);
        if (part.type === 'error') throw part.error;
      }
      for (const kind of ['tool-input-start', 'tool-input-delta', 'tool-call', 'tool-result', 'reasoning-delta']) {
        assert.ok(kinds.has(kind), `stream has ${kind} parts`);
      }
      const steps = await result.steps;
      assert.equal(steps.length, 2);
      assert.deepEqual(steps[0].toolCalls[0].input, { city: 'Oslo' });
      assert.equal(steps[0].reasoningText, 'Thinking about: call get_weather {"city":"Oslo"}');
      assert.equal(await result.text, 'tool said: sunny in Oslo');
    });

    test('embed and embedMany', async () => {
      const model = embeddingModel(MODELS.embed);
      const one = await ai.embed({ model, value: 'sunny day', providerOptions: { openai: { dimensions: 8 } } });
      assert.equal(one.embedding.length, 8);
      assert.equal(one.usage.tokens, 2);
      const many = await ai.embedMany({ model, values: ['sunny day', 'rainy night', 'snow'] });
      assert.equal(many.embeddings.length, 3);
      assert.ok(many.embeddings.every((v) => v.length > 0));
      assert.deepEqual(many.embeddings[0].slice(0, 4), (await ai.embed({ model, value: 'sunny day' })).embedding.slice(0, 4));
    });

    test('getAvailableModels', async () => {
      const { models } = await gw.getAvailableModels();
      const byId = Object.fromEntries(models.map((m) => [m.id, m]));
      for (const id of [MODELS.openai, MODELS.anthropic, MODELS.embed]) assert.ok(byId[id], `${id} is listed`);
      assert.equal(byId[MODELS.openai].specification.specificationVersion, major.spec);
      assert.equal(byId[MODELS.openai].modelType, 'language');
      assert.equal(byId[MODELS.embed].modelType, 'embedding');
      assert.match(byId[MODELS.openai].pricing.input, /^\d+(\.\d+)?$/);
    });

    test('getCredits', async () => {
      const credits = await gw.getCredits();
      assert.equal(credits.balance, '0');
      assert.match(credits.totalUsed, /^\d+(\.\d+)?$/);
    });

    test('getSpendReport', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const report = await gw.getSpendReport({ startDate: today, endDate: today, groupBy: 'model' });
      const row = report.results.find((r) => r.model === MODELS.openai);
      assert.ok(row, 'the model used above has a row');
      assert.ok(row.requestCount >= 1 && row.totalCost > 0);
    });

    test('getGenerationInfo', async () => {
      const result = await ai.generateText({ model: gw(MODELS.openai), prompt: 'look me up' });
      const id = result.providerMetadata.gateway.generationId;
      const info = await gw.getGenerationInfo({ id });
      assert.equal(info.id, id);
      assert.equal(info.providerName, 'openai');
      assert.equal(info.promptTokens, 4);
      assert.ok(info.totalCost > 0);
    });

    test('getGenerationInfo accepts the aisdk package\'s /v1/generation body',
      { skip: process.env.AISDK_GENERATION_FIXTURE ? false : 'AISDK_GENERATION_FIXTURE is not set' }, async () => {
        const body = await readFile(process.env.AISDK_GENERATION_FIXTURE, 'utf8');
        const local = errorsModule.createGateway({
          baseURL: 'http://fixture.invalid/v1/ai', apiKey: 'k',
          fetch: async () => new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
        });
        const expected = JSON.parse(body).data;
        const info = await local.getGenerationInfo({ id: expected.id });
        assert.equal(info.id, expected.id);
        assert.equal(info.totalCost, expected.total_cost);
        assert.equal(info.providerName, expected.provider_name);
        assert.equal(info.promptTokens, expected.native_tokens_prompt);
        assert.equal(info.finishReason, expected.finish_reason);
      });

    test('unknown model -> GatewayModelNotFoundError', async () => {
      await assert.rejects(
        ai.generateText({ model: gw('acme/does-not-exist'), prompt: 'hi', maxRetries: 0 }),
        (err) => {
          const e = unwrap(err);
          assert.ok(errorsModule.GatewayModelNotFoundError.isInstance(e), `${e?.name}: ${e?.message}`);
          assert.equal(e.statusCode, 404);
          assert.equal(e.modelId, 'acme/does-not-exist');
          if (major.spec !== 'v2') assert.match(e.generationId, /^gen_/); // 2.x does not read it
          return true;
        },
      );
    });

    test('a language model used for embeddings -> GatewayInvalidRequestError', async () => {
      await assert.rejects(
        ai.embed({ model: embeddingModel(MODELS.openai), value: 'x', maxRetries: 0 }),
        (err) => {
          const e = unwrap(err);
          assert.ok(errorsModule.GatewayInvalidRequestError.isInstance(e), `${e?.name}: ${e?.message}`);
          assert.equal(e.statusCode, 400);
          return true;
        },
      );
    });

    test('provider failure -> GatewayInternalServerError (generateText)', async () => {
      await assert.rejects(
        ai.generateText({ model: gw(MODELS.failing), prompt: 'hi', maxRetries: 0 }),
        (err) => {
          const e = unwrap(err);
          assert.ok(errorsModule.GatewayInternalServerError.isInstance(e), `${e?.name}: ${e?.message}`);
          assert.equal(e.statusCode, 502);
          assert.equal(e.isRetryable, true);
          return true;
        },
      );
    });

    test('provider failure -> error in streamText', async () => {
      const errors = [];
      const result = ai.streamText({
        model: gw(MODELS.failing), prompt: 'hi', maxRetries: 0, onError: ({ error }) => errors.push(error),
      });
      for await (const part of result.fullStream) {
        if (part.type === 'error') errors.push(part.error);
      }
      assert.ok(errors.length >= 1);
      assert.ok(errors.some((e) => errorsModule.GatewayInternalServerError.isInstance(unwrap(e))),
        errors.map((e) => `${e?.name}: ${e?.message}`).join('; '));
    });

    test('a stream cut after its first content ends with an error part', async () => {
      const errors = [];
      const result = ai.streamText({
        model: gw(MODELS.flaky), prompt: 'one two three four five', maxRetries: 0,
        onError: ({ error }) => errors.push(error),
      });
      let text = '';
      for await (const part of result.fullStream) {
        if (part.type === 'text-delta') text += part.text ?? part.delta ?? part.textDelta;
        if (part.type === 'error') errors.push(part.error);
      }
      assert.ok(text.startsWith('echo:'), `partial text before the error: ${JSON.stringify(text)}`);
      assert.ok(errors.length >= 1, 'the error reached the caller');
      const message = errors.map((e) => e?.message ?? JSON.stringify(e)).join(' ');
      assert.match(message, /flaky/);
    });
  });
}
