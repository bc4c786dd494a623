// Request bodies as real clients send them: `null` for optional fields is "not set" (OpenAI's API and vLLM accept it).
import { describe, expect, it } from 'vitest';
import { inferenceEndpoints, inferenceKindOf, type InferenceKind } from '../../../src/api/openai-api.ts';

// Optional fields of the openai SDK's create params (resources/chat/completions, completions, responses,
// embeddings) plus vLLM's extras; each may be sent as null.
const OPTIONAL: Record<InferenceKind, { minimal: object; fields: string[] }> = {
  chat: {
    minimal: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    fields: [
      'audio', 'frequency_penalty', 'function_call', 'functions', 'logit_bias', 'logprobs', 'max_completion_tokens', 'max_tokens', 'metadata',
      'modalities', 'n', 'parallel_tool_calls', 'prediction', 'presence_penalty', 'prompt_cache_key', 'reasoning_effort', 'response_format',
      'safety_identifier', 'seed', 'service_tier', 'stop', 'store', 'stream', 'stream_options', 'temperature', 'tool_choice', 'tools',
      'top_logprobs', 'top_p', 'user', 'verbosity', 'web_search_options', 'top_k', 'min_p', 'repetition_penalty', 'ignore_eos', 'cache_salt',
    ],
  },
  completions: {
    minimal: { model: 'm', prompt: 'hi' },
    fields: ['best_of', 'echo', 'frequency_penalty', 'logit_bias', 'logprobs', 'max_tokens', 'n', 'presence_penalty', 'seed', 'stop', 'stream', 'stream_options', 'suffix', 'temperature', 'top_p', 'user'],
  },
  responses: {
    minimal: { model: 'm', input: 'hi' },
    fields: [
      'background', 'conversation', 'include', 'instructions', 'max_output_tokens', 'max_tool_calls', 'metadata', 'parallel_tool_calls', 'previous_response_id',
      'prompt', 'prompt_cache_key', 'reasoning', 'safety_identifier', 'service_tier', 'store', 'stream', 'stream_options', 'temperature', 'text',
      'tool_choice', 'tools', 'top_logprobs', 'top_p', 'truncation', 'user', 'input',
    ],
  },
  embeddings: { minimal: { model: 'm', input: 'hi' }, fields: ['dimensions', 'encoding_format', 'user'] },
};

describe('OpenAI request bodies', () => {
  for (const [kind, { minimal, fields }] of Object.entries(OPTIONAL) as [InferenceKind, (typeof OPTIONAL)[InferenceKind]][]) {
    it(`${kind}: every optional field accepts null, and null reads as unset`, () => {
      const schema = inferenceEndpoints[kind].schema;
      for (const f of fields) {
        const r = schema.safeParse({ ...minimal, [f]: null });
        expect(r.success, `${kind}.${f}: null ${r.success ? '' : JSON.stringify(r.error.issues)}`).toBe(true);
      }
      const all = schema.parse({ ...minimal, ...Object.fromEntries(fields.map((f) => [f, null])) }) as Record<string, unknown>;
      expect(all.user).toBeUndefined();
    });
  }

  it('still rejects wrong types with the field named', () => {
    const r = inferenceEndpoints.chat.schema.safeParse({ model: 'm', messages: [{ role: 'user', content: 'x' }], user: 7 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['user']);
    expect(inferenceEndpoints.embeddings.schema.safeParse({ model: 'm', input: [] }).success).toBe(false);
    expect(inferenceEndpoints.embeddings.schema.safeParse({ model: 'm', input: 'x', encoding_format: 'hex' }).success).toBe(false);
    expect(inferenceEndpoints.responses.schema.safeParse({ model: 'm', input: 5 }).success).toBe(false);
  });

  it('accepts the Responses API input forms', () => {
    const s = inferenceEndpoints.responses.schema;
    expect(s.safeParse({ model: 'm', input: [{ role: 'user', content: 'hi' }] }).success).toBe(true);
    expect(s.safeParse({ model: 'm', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }] }).success).toBe(true);
    expect(s.safeParse({ model: 'm', previous_response_id: 'resp_1', input: [{ type: 'function_call_output', call_id: 'c', output: '{}' }] }).success).toBe(true);
  });

  it('maps paths (one trailing slash allowed) to inference kinds', () => {
    expect(inferenceKindOf('/v1/chat/completions')).toBe('chat');
    expect(inferenceKindOf('/v1/chat/completions/')).toBe('chat');
    expect(inferenceKindOf('/v1/responses/')).toBe('responses');
    expect(inferenceKindOf('/v1/embeddings')).toBe('embeddings');
    expect(inferenceKindOf('/v1/completions//')).toBeUndefined();
    expect(inferenceKindOf('/v1/models')).toBeUndefined();
  });
});
