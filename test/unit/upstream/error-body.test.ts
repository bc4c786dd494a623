// Backend error bodies of every shape become the router's one OpenAI-style shape, status and message kept.
import { describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../../src/api/errors.ts';
import { normaliseUpstreamError } from '../../../src/upstream/error-body.ts';

const norm = (status: number, body: unknown) => JSON.parse(normaliseUpstreamError(status, typeof body === 'string' ? body : JSON.stringify(body))) as ErrorBody;

describe('normaliseUpstreamError', () => {
  it("vLLM's older flat shape: message kept, type and code become strings", () => {
    const out = norm(400, { object: 'error', message: "This model's maximum context length is 8192 tokens.", type: 'BadRequestError', param: null, code: 400 });
    expect(out).toEqual({ error: { message: "This model's maximum context length is 8192 tokens.", type: 'invalid_request_error', param: null, code: 'upstream_400' } });
  });

  it("vLLM's current nested shape and OpenAI's own shape", () => {
    expect(norm(404, { error: { message: 'The model `x` does not exist.', type: 'NotFoundError', param: 'model', code: 404 } })).toEqual({
      error: { message: 'The model `x` does not exist.', type: 'not_found_error', param: 'model', code: 'upstream_404' },
    });
    const openai = { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } };
    expect(norm(429, openai)).toEqual(openai);
    expect(norm(400, { error: { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'invalid_value', extra: 1 } })).toEqual({
      error: { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'invalid_value' },
    });
  });

  it('FastAPI detail (string and validation list), TGI and plain-text and HTML bodies', () => {
    expect(norm(404, { detail: 'Not Found' }).error).toMatchObject({ message: 'Not Found', type: 'not_found_error', code: 'upstream_404' });
    expect(norm(422, { detail: [{ loc: ['body', 'messages'], msg: 'Field required', type: 'missing' }] }).error.message).toBe('messages: Field required');
    expect(norm(424, { error: 'Input validation error: `inputs` must have less than 4096 tokens', error_type: 'validation' }).error).toMatchObject({
      message: 'Input validation error: `inputs` must have less than 4096 tokens',
      type: 'validation',
      code: 'upstream_424',
    });
    expect(norm(500, 'Internal Server Error').error).toEqual({ message: 'Internal Server Error', type: 'upstream_error', param: null, code: 'upstream_500' });
    const html = '<html><head><title>502 Bad Gateway</title><style>body{}</style></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
    expect(norm(502, html).error.message).toBe('502 Bad Gateway 502 Bad Gateway nginx');
  });

  it('an empty or message-less body still gets a message; every field has the right type', () => {
    for (const [status, body] of [[503, ''], [500, '{}'], [401, '[]'], [400, 'null'], [500, { error: { code: 7 } }]] as const) {
      const { error } = norm(status, body);
      expect(typeof error.message).toBe('string');
      expect(error.message.length).toBeGreaterThan(0);
      expect(typeof error.type).toBe('string');
      expect(typeof error.code).toBe('string');
      expect(error.param === null || typeof error.param === 'string').toBe(true);
    }
    expect(norm(503, '').error.message).toBe('The backend answered 503 without a message.');
    expect(norm(401, '{}').error.type).toBe('authentication_error');
  });

  it('caps a huge message', () => {
    expect(norm(500, 'x'.repeat(100_000)).error.message.length).toBe(2_000);
  });
});
