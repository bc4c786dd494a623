// fast-check generators for the HTTP fuzz suite: whole requests (method, request target, headers, body, how the
// body is framed on the wire) aimed at kvroute's public surface. Valid requests, near-valid ones (one thing
// wrong), and garbage. Pure data: no I/O here; client.ts puts a request on the wire.
import fc from 'fast-check';

/** The fuzz run's two tenants, their keys and models, and the admin token (set up by targets.ts). */
export const FUZZ = {
  adminToken: 'fuzz-admin-token-0123456789abcdef',
  tenants: {
    a: { id: 'acme', key: 'sk-fuzz-acme-0123456789abcdef', models: ['llama-3.1-8b', 'alpha'], backends: ['a0', 'a1'] },
    b: { id: 'globex', key: 'sk-fuzz-globex-0123456789abcdef', models: ['beta'], backends: ['g0'] },
  },
  /** Admin writes go to these ids only, so a fuzzed PUT or DELETE never touches the two tenants above. */
  scratchTenants: ['fz-1', 'fz-2', 'fz.3', 'fz_4'],
  /** The tenants' request-body deadline for the run (timeouts.requestBodyMs). */
  requestBodyMs: 2_000,
  /** A's body limit (B keeps the default), so some bodies are over a limit and others are not. */
  maxBodyBytesA: 1_500_000,
} as const;

/**
 * Whose credentials the Authorization header carries. `a~` / `b~`: the tenant's key in an unusual spelling that
 * may or may not authenticate; `both`: two Authorization headers, one per tenant.
 */
export type Principal = 'a' | 'a~' | 'b' | 'b~' | 'both' | 'admin' | 'admin~' | 'none' | 'garbage';

/**
 * How the body goes on the wire: `length` (a true Content-Length), `chunked` (valid chunks), `slow` (true length,
 * sent in two pieces with a pause), and the lies: `length-over` (declares more than is sent: the server waits),
 * `length-under` (declares less: the rest looks like a next request), `length-bad` (not a number),
 * `length-and-chunked` (both headers), `chunked-bad` (a size that is not hex), `chunked-open` (no last chunk),
 * `unframed` (body bytes with neither header).
 */
export type Framing =
  | 'length' | 'chunked' | 'slow' | 'length-over' | 'length-under' | 'length-bad' | 'length-and-chunked' | 'chunked-bad' | 'chunked-open' | 'unframed';

export interface FuzzRequest {
  /** Which generator made it: the figures are broken down by it and a failure names it. */
  what: string;
  method: string;
  /** The request target exactly as written on the request line. */
  target: string;
  version: string;
  /** In order; names may repeat. No Host, Content-Length or Transfer-Encoding: those come from `host`/`framing`. */
  headers: [string, string][];
  /** null: no Host header; otherwise its value (`''` means the target port's own `127.0.0.1:PORT`). */
  host: string | null;
  body: Uint8Array;
  framing: Framing;
  principal: Principal;
  /** When set, exactly these bytes go on the wire instead of a request built from the fields above. */
  raw?: Uint8Array;
}

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

// ---------------------------------------------------------------------------------------------------------------
// JSON values: valid bodies per endpoint, and the odd values that replace one of their fields.

/** A marker for number tokens JSON allows but JavaScript cannot keep (1e999, -0, 30-digit integers). */
const RAW = '\u0000raw:';
const rawNumber = fc.constantFrom('1e999', '-1e999', '-0', '1.0', '0.1e-999', '123456789012345678901234567890', '1E400', '-9007199254740993').map((t) => `${RAW}${t}`);

const deep = fc.integer({ min: 50, max: 30_000 }).chain((depth) =>
  fc.constantFrom('[', '{"a":').map((open) => `${RAW}${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`),
);

/** Big strings are cheap to make and rare: they cost the router (and the backend's tokenizer) real work. */
const hugeString = fc.integer({ min: 64 * 1024, max: 1_200_000 }).chain((n) => fc.constantFrom('x', 'é', '🦀', 'ab ', '\u0000').map((c) => c.repeat(Math.ceil(n / c.length))));

const oddString = fc.oneof(
  fc.constantFrom('', ' ', 'NaN', 'Infinity', '-Infinity', 'null', 'true', '1e999', '__proto__', 'constructor', '\ud800', '\udfff\ud800', '\u0000', '\ufeff', '\u202e', '../../etc/passwd', '%00', '<script>', 'data: [DONE]\n\n'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(null, true, false, 0, -1, -0.5, 1e308, -1e308, 2 ** 53 + 1, 5e-324, [], {}, [null], { '': null }) },
  { weight: 4, arbitrary: oddString },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: rawNumber },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: hugeString },
);

const modelName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...FUZZ.tenants.a.models) },
  { weight: 2, arbitrary: fc.constantFrom(...FUZZ.tenants.b.models) },
  { weight: 1, arbitrary: oddString },
);

const text = fc.oneof({ weight: 10, arbitrary: fc.lorem({ maxCount: 12 }) }, { weight: 2, arbitrary: oddString }, { weight: 1, arbitrary: hugeString });
const maxTokens = fc.option(fc.integer({ min: 1, max: 24 }), { nil: undefined });
const streamFields = fc.oneof(
  fc.constant({}),
  fc.constant({ stream: false }),
  fc.constant({ stream: true }),
  fc.constant({ stream: true, stream_options: { include_usage: true } }),
);

const message = fc.record({
  role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'developer'),
  content: fc.oneof({ weight: 6, arbitrary: text }, { weight: 1, arbitrary: fc.array(fc.record({ type: fc.constant('text'), text }), { minLength: 1, maxLength: 3 }) }),
});

const chatBody = fc.tuple(modelName, fc.array(message, { minLength: 1, maxLength: 4 }), maxTokens, streamFields).map(([model, messages, max_tokens, s]) => ({
  model, messages, ...(max_tokens === undefined ? {} : { max_tokens }), ...s,
}));
const completionBody = fc
  .tuple(modelName, fc.oneof(text, fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 32 })), maxTokens, streamFields)
  .map(([model, prompt, max_tokens, s]) => ({ model, prompt, ...(max_tokens === undefined ? {} : { max_tokens }), ...s }));
const responsesBody = fc
  .tuple(modelName, fc.oneof(text, fc.array(fc.record({ role: fc.constantFrom('user', 'system'), content: text }), { minLength: 1, maxLength: 3 })), fc.option(text, { nil: undefined }), streamFields)
  .map(([model, input, instructions, s]) => ({ model, input, ...(instructions === undefined ? {} : { instructions }), max_output_tokens: 16, ...('stream' in s ? { stream: s.stream } : {}) }));
const embeddingsBody = fc
  .tuple(modelName, fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 4 })), fc.constantFrom(undefined, 'float', 'base64'))
  .map(([model, input, encoding_format]) => ({ model, input, ...(encoding_format ? { encoding_format } : {}) }));

/** A tenant config that validates and points only at loopback (the fuzz run's simulators or a closed port). */
const tenantConfig = fc
  .tuple(fc.constantFrom('m1', 'alpha', 'llama-3.1-8b'), fc.constantFrom('http://127.0.0.1:9', 'http://127.0.0.1:1'), fc.integer({ min: 1, max: 30_000 }))
  .map(([model, url, ms]) => ({
    models: { [model]: { pool: 'p' } },
    pools: { p: { backends: [{ id: 'x0', url }] } },
    timeouts: { requestBodyMs: ms },
    health: { probeIntervalMs: 0 },
  }));

/** Every path to a value inside a JSON value, root first. */
function pathsOf(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (out.length > 200) return out;
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...at, k], out);
  return out;
}

type Mutation = { op: 'set'; pick: number; value: unknown } | { op: 'delete'; pick: number } | { op: 'add'; key: string; value: unknown } | { op: 'nulls' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: oddValue }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('add' as const), key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'stream', 'n', 'max_tokens', 'temperature', 'tools', 'ignore_eos', 'user', 'seed'), fc.string({ maxLength: 12 })), value: oddValue }) },
  { weight: 1, arbitrary: fc.constant({ op: 'nulls' as const }) },
);

/** `null` at every leaf (the "null everywhere" case). */
function nullLeaves(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(nullLeaves);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, nullLeaves(x)]));
  return null;
}

function applyMutation(base: unknown, m: Mutation): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  if (m.op === 'nulls') return nullLeaves(copy);
  if (m.op === 'add') {
    if (copy && typeof copy === 'object' && !Array.isArray(copy)) Object.defineProperty(copy, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    return copy;
  }
  const paths = pathsOf(copy);
  const path = paths[m.pick % paths.length]!;
  if (path.length === 0) return m.op === 'set' ? m.value : undefined;
  let parent: unknown = copy;
  for (const k of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[k];
  const last = path[path.length - 1]!;
  if (m.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete (parent as Record<string, unknown>)[last];
  } else (parent as Record<string | number, unknown>)[last] = m.value;
  return copy;
}

/** JSON text with the RAW markers turned into the tokens they stand for. */
function jsonText(v: unknown, pretty: boolean): string {
  const s = JSON.stringify(v, null, pretty ? 2 : undefined) ?? 'undefined';
  return s.includes(RAW) ? s.replace(/"\\u0000raw:((?:[^"\\]|\\.)*)"/g, (_, t: string) => JSON.parse(`"${t}"`) as string) : s;
}

/**
 * How the JSON text becomes bytes: as is, or with one byte-level fault (BOM, invalid UTF-8 inside a string, a
 * duplicate key in front, cut short, trailing garbage, NUL bytes).
 */
const encoding = fc.oneof(
  { weight: 12, arbitrary: fc.constant('plain' as const) },
  { weight: 1, arbitrary: fc.constantFrom('pretty', 'bom', 'bad-utf8', 'overlong-utf8', 'dup-key', 'truncate', 'trailing', 'nul', 'utf16') },
);

function encodeJson(v: unknown, how: string, cut: number): Uint8Array {
  const t = jsonText(v, how === 'pretty');
  switch (how) {
    case 'bom':
      return concat(new Uint8Array([0xef, 0xbb, 0xbf]), bytes(t));
    case 'bad-utf8':
    case 'overlong-utf8': {
      const at = t.indexOf('"', 1);
      const bad = how === 'bad-utf8' ? new Uint8Array([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]) : new Uint8Array([0xc0, 0xaf, 0xe0, 0x80, 0xaf]);
      return at < 0 ? concat(bytes(t), bad) : concat(bytes(t.slice(0, at + 1)), bad, bytes(t.slice(at + 1)));
    }
    case 'dup-key':
      return bytes(t.startsWith('{') && t.length > 2 ? `{"model":"gpt-nope","stream":"yes",${t.slice(1)}` : t);
    case 'truncate':
      return bytes(t.slice(0, cut % Math.max(1, t.length)));
    case 'trailing':
      return bytes(`${t} }{"x":1}`);
    case 'nul':
      return bytes(`${t}\u0000`);
    case 'utf16':
      return new Uint8Array(Buffer.from(t, 'utf16le'));
    default:
      return bytes(t);
  }
}

/** A JSON body: valid, near-valid (one mutation), or garbage bytes. */
function jsonBody(valid: fc.Arbitrary<unknown>): fc.Arbitrary<{ body: Uint8Array; shape: string }> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(valid, encoding, fc.nat()).map(([v, how, cut]) => ({ body: encodeJson(v, how, cut), shape: how === 'plain' ? 'valid' : `valid/${how}` })) },
    { weight: 6, arbitrary: fc.tuple(valid, mutation, encoding, fc.nat()).map(([v, m, how, cut]) => ({ body: encodeJson(applyMutation(v, m), how, cut), shape: `near/${m.op}${how === 'plain' ? '' : `/${how}`}` })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ body: bytes(JSON.stringify(v)), shape: 'any-json' })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ body: b, shape: 'garbage' })) },
    { weight: 1, arbitrary: fc.constant({ body: new Uint8Array(0), shape: 'empty' }) },
  );
}

const keysBody = fc.oneof(
  fc.constantFrom('null', '[]', '{}', '[{}]', '"key"', '123', 'true', '{"name":null}', '{"name":123}', '{"name":["x"]}', '{"key":null}', '{"key":"short"}', '{"key":{}}',
    `{"key":"${FUZZ.tenants.a.key}"}`, `{"key":"${FUZZ.tenants.b.key}"}`, '{"key":"has spaces in the middle of it"}').map((s) => ({ body: bytes(s), shape: 'keys/fixed' })),
  fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/).map((k) => ({ body: bytes(JSON.stringify({ name: 'fuzz', key: `sk-fz-${k}` })), shape: 'keys/import' })),
  jsonBody(fc.record({ name: fc.string({ maxLength: 20 }) })),
);

// ---------------------------------------------------------------------------------------------------------------
// Request targets: the known routes, and the same routes bent (trailing slash, dot-segments, percent-encoding,
// case, query, very long, unicode, forms that are not origin-form).

const INFERENCE_PATHS = ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/embeddings'] as const;
const READ_PATHS = ['/health', '/metrics', '/v1/models', '/v1/models/alpha', '/v1/models/beta', '/admin/backends', '/admin/tenants', `/admin/tenants/${FUZZ.tenants.a.id}`,
  `/admin/tenants/${FUZZ.tenants.a.id}/keys`, `/admin/tenants/${FUZZ.tenants.b.id}/drift`, `/admin/tenants/${FUZZ.tenants.a.id}/experiments`, '/', '/v1', '/admin', '/favicon.ico'];

const pathMutation = fc.oneof(
  { weight: 12, arbitrary: fc.constant((p: string) => p) },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      (p: string) => `${p}/`,
      (p: string) => `${p}//`,
      (p: string) => p.replace('/v1/', '/v1/./'),
      (p: string) => p.replace(/^\/(\w+)\//, '/$1/x/../'),
      (p: string) => p.replace(/^\//, '//'),
      (p: string) => p.replace(/\/(\w)/, (_, c: string) => `/%${c.charCodeAt(0).toString(16)}`),
      (p: string) => p.replace(/\/([^/]*)$/, '%2F$1'),
      (p: string) => p.toUpperCase(),
      (p: string) => `${p}?`,
      (p: string) => `${p}?stream=true&model=alpha&a=%zz`,
      (p: string) => `${p}#frag`,
      (p: string) => `${p}%`,
      (p: string) => `${p}%00`,
      (p: string) => `${p};x=1`,
      (p: string) => `${p}/..`,
      (p: string) => p.replace(/\//g, '\\'),
      (p: string) => `${p}/é/ü`,
      (p: string) => `${p}/${encodeURIComponent('🦀')}`,
      (p: string) => `${p}?q=${'a'.repeat(8_000)}`,
      (p: string) => `${p}/${'a'.repeat(70_000)}`,
      (p: string) => `http://127.0.0.1${p}`,
      (p: string) => p.slice(1),
    ),
  },
);

const oddTarget = fc.oneof(
  fc.constantFrom('*', 'toString', 'constructor', '__proto__', '/__proto__', '/constructor', '/v1/__proto__', '/admin/tenants/__proto__', '/admin/tenants/constructor/keys', '', ' ', '/\u0000', '//127.0.0.1/health', 'http://[::1]/health', 'https://x/v1/models', '127.0.0.1:80'),
  fc.string({ maxLength: 30 }).map((s) => `/${s}`),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `/v1/${s}`),
);

// ---------------------------------------------------------------------------------------------------------------
// Headers.

/** An Authorization header (or several, or none) and whose credentials it carries. */
interface Auth {
  principal: Principal;
  values: readonly string[];
}

/** The credentials of a request that has nothing wrong with it: mostly tenant A's, else B's. */
const cleanAuth = fc.oneof(
  { weight: 7, arbitrary: fc.constant<Auth>({ principal: 'a', values: [`Bearer ${FUZZ.tenants.a.key}`] }) },
  { weight: 3, arbitrary: fc.constant<Auth>({ principal: 'b', values: [`Bearer ${FUZZ.tenants.b.key}`] }) },
);
const adminAuth = fc.constant<Auth>({ principal: 'admin', values: [`Bearer ${FUZZ.adminToken}`] });

/** Authorization that is not the route's own: the other credentials, none, odd spellings, garbage. */
const oddAuth: fc.Arbitrary<Auth> = fc.oneof(
  fc.constantFrom<Auth>(
    { principal: 'a', values: [`Bearer ${FUZZ.tenants.a.key}`] },
    { principal: 'b', values: [`Bearer ${FUZZ.tenants.b.key}`] },
    { principal: 'admin', values: [`Bearer ${FUZZ.adminToken}`] },
    { principal: 'none', values: [] },
    { principal: 'a~', values: [`bearer ${FUZZ.tenants.a.key}`] },
    { principal: 'a~', values: [`Bearer  ${FUZZ.tenants.a.key}  `] },
    { principal: 'a~', values: [`Bearer\t${FUZZ.tenants.a.key}`] },
    { principal: 'a~', values: [FUZZ.tenants.a.key] },
    { principal: 'a~', values: [`Basic ${Buffer.from(`x:${FUZZ.tenants.a.key}`).toString('base64')}`] },
    { principal: 'a~', values: [`Bearer ${FUZZ.tenants.a.key}x`] },
    { principal: 'a~', values: [`Bearer ${FUZZ.tenants.a.key.toUpperCase()}`] },
    { principal: 'b~', values: [`Bearer ${FUZZ.tenants.b.key} extra`] },
    { principal: 'admin~', values: [`Bearer ${FUZZ.adminToken} `] },
    { principal: 'admin~', values: [`bearer ${FUZZ.adminToken}`] },
    { principal: 'both', values: [`Bearer ${FUZZ.tenants.a.key}`, `Bearer ${FUZZ.tenants.b.key}`] },
    { principal: 'both', values: [`Bearer ${FUZZ.tenants.a.key}, Bearer ${FUZZ.tenants.b.key}`] },
  ),
  fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('Bearer', 'Bearer ', 'Bearer sk-', 'Bearer \u0000', `Bearer ${'k'.repeat(20_000)}`))
    .map((v): Auth => ({ principal: 'garbage', values: [v] })),
);

const oddContentType = fc.oneof(
  fc.constantFrom<readonly string[]>([], ['text/plain'], ['application/json; charset=latin1'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x'], ['APPLICATION/JSON'], ['application/json', 'text/plain'], ['']),
  fc.string({ maxLength: 40 }).map((s): readonly string[] => [s]),
);

/** Headers a well-behaved client sends. */
const usualHeader = fc.constantFrom<[string, string]>(
  ['accept', 'application/json'], ['accept', 'text/event-stream'], ['accept', '*/*'], ['user-agent', 'OpenAI/JS 6.49.0'], ['x-request-id', 'req-1'], ['x-stainless-retry-count', '0'],
  ['openai-organization', 'org-x'], ['accept-encoding', 'gzip, br'],
);

/** Headers that are odd in name, value, size or meaning. */
const oddHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constant('x-request-id'), fc.oneof(fc.constantFrom('a'.repeat(128), 'a'.repeat(129), '', ' ', 'x\u0000y', '../..', '<script>', 'é', '🦀', '\r', 'a\r\nx-injected: 1'), fc.string({ maxLength: 50 }))) },
  {
    weight: 4,
    arbitrary: fc.constantFrom<[string, string]>(
      ['content-encoding', 'gzip'], ['expect', '100-continue'], ['connection', 'close'], ['connection', 'keep-alive, upgrade'], ['upgrade', 'websocket'], ['if-match', '"1"'],
      ['if-match', 'W/"abc"'], ['if-match', '*'], ['if-match', 'x'], ['x-kvroute-arm', 'b'], ['x-kvroute-backend', 'g0'], ['origin', 'https://evil.example'],
      ['access-control-request-method', 'POST'], ['cookie', 'a=b'], ['range', 'bytes=0-1'], ['x-forwarded-for', '1.2.3.4'], ['te', 'trailers'], ['user-agent', ''], ['X-Request-ID', 'dup-1'],
      ['x-http-method-override', 'DELETE'], ['accept', 'text/html'],
    ),
  },
  { weight: 2, arbitrary: fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.string({ maxLength: 40 })) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.string({ maxLength: 10 })) },
  { weight: 1, arbitrary: fc.constantFrom<[string, string]>(['x-big', 'h'.repeat(20_000)], ['x-big', 'h'.repeat(7_000)]) },
);

const oddHost = fc.constantFrom<string | null>(null, 'evil.example', '127.0.0.1:1', '[::1]', 'a b', 'ü.example', 'x'.repeat(300), '127.0.0.1:99999', 'localhost');
const oddFraming = fc.constantFrom<Framing>('chunked', 'slow', 'length-over', 'length-under', 'length-bad', 'length-and-chunked', 'chunked-bad', 'chunked-open', 'unframed');
const oddVersion = fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 extra', '');
const oddMethod = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'QUERY', 'FOO', 'post', 'P0ST', 'GET\u0000', 'CONNECT', 'M-SEARCH', 'X'.repeat(40));

/** One thing wrong with the HTTP around a body; a request gets none, one or two. */
type HttpFault =
  | { on: 'method' | 'version'; value: string }
  | { on: 'target'; value: (path: string) => string }
  | { on: 'host'; value: string | null }
  | { on: 'framing'; value: Framing }
  | { on: 'auth'; value: Auth }
  | { on: 'content-type'; value: readonly string[] }
  | { on: 'header'; value: [string, string] };

const httpFault = (methods: fc.Arbitrary<string>): fc.Arbitrary<HttpFault> =>
  fc.oneof(
    { weight: 3, arbitrary: oddAuth.map((value) => ({ on: 'auth' as const, value })) },
    { weight: 3, arbitrary: oddHeader.map((value) => ({ on: 'header' as const, value })) },
    { weight: 2, arbitrary: oddContentType.map((value) => ({ on: 'content-type' as const, value })) },
    { weight: 3, arbitrary: pathMutation.map((value) => ({ on: 'target' as const, value })) },
    { weight: 3, arbitrary: oddFraming.map((value) => ({ on: 'framing' as const, value })) },
    { weight: 1, arbitrary: methods.map((value) => ({ on: 'method' as const, value })) },
    { weight: 1, arbitrary: oddVersion.map((value) => ({ on: 'version' as const, value })) },
    { weight: 1, arbitrary: oddHost.map((value) => ({ on: 'host' as const, value })) },
  );

// ---------------------------------------------------------------------------------------------------------------
// Whole requests: a clean request for a route, with none, one or two HTTP faults.

interface Parts {
  what: string;
  method: string;
  path: string;
  body: fc.Arbitrary<{ body: Uint8Array; shape: string }>;
  auth?: fc.Arbitrary<Auth>;
  /** The methods a method fault may pick (default: any, odd ones included). */
  methods?: fc.Arbitrary<string>;
}

function request(p: Parts): fc.Arbitrary<FuzzRequest> {
  const faults = fc.oneof(
    { weight: 10, arbitrary: fc.constant<HttpFault[]>([]) },
    { weight: 7, arbitrary: fc.array(httpFault(p.methods ?? oddMethod), { minLength: 1, maxLength: 1 }) },
    { weight: 3, arbitrary: fc.array(httpFault(p.methods ?? oddMethod), { minLength: 2, maxLength: 2 }) },
  );
  return fc.record({ body: p.body, auth: p.auth ?? cleanAuth, usual: fc.array(usualHeader, { maxLength: 2 }), faults }).map(({ body, auth, usual, faults }) => {
    const r: FuzzRequest = { what: `${p.what} ${body.shape}`, method: p.method, target: p.path, version: 'HTTP/1.1', headers: [], host: '', body: body.body, framing: 'length', principal: auth.principal };
    let contentType: readonly string[] = ['application/json'];
    const extra: [string, string][] = [...usual];
    for (const f of faults) {
      r.what += ` +${f.on}`;
      if (f.on === 'target') r.target = f.value(r.target);
      else if (f.on === 'auth') auth = f.value;
      else if (f.on === 'content-type') contentType = f.value;
      else if (f.on === 'header') extra.push(f.value);
      // method, version, host, framing: fields of the request with the same name.
      else Object.assign(r, { [f.on]: f.value });
    }
    r.principal = auth.principal;
    r.headers = [...auth.values.map((v): [string, string] => ['authorization', v]), ...contentType.map((v): [string, string] => ['content-type', v]), ...extra];
    return r;
  });
}

const noBody = fc.constant({ body: new Uint8Array(0), shape: 'no-body' });
const bodyFor: Record<(typeof INFERENCE_PATHS)[number], fc.Arbitrary<unknown>> = {
  '/v1/chat/completions': chatBody,
  '/v1/completions': completionBody,
  '/v1/responses': responsesBody,
  '/v1/embeddings': embeddingsBody,
};

const inference = fc.constantFrom(...INFERENCE_PATHS).chain((path) => request({ what: `POST ${path}`, method: 'POST', path, body: jsonBody(bodyFor[path]) }));

/** Never DELETE: method faults on paths that name the two tenants the run depends on pick from these. */
const readMethod = fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'TRACE', 'FOO', 'get');
const scratch = fc.constantFrom(...FUZZ.scratchTenants);
const admin = fc.oneof(
  scratch.chain((id) => request({ what: 'PUT tenant', method: 'PUT', path: `/admin/tenants/${id}`, body: jsonBody(tenantConfig), auth: adminAuth })),
  fc.constantFrom(...FUZZ.scratchTenants, FUZZ.tenants.a.id, FUZZ.tenants.b.id).chain((id) =>
    request({ what: 'POST keys', method: 'POST', path: `/admin/tenants/${id}/keys`, body: keysBody, auth: adminAuth, methods: readMethod }),
  ),
  fc.tuple(scratch, fc.constantFrom('', '/keys/k1')).chain(([id, rest]) => request({ what: 'DELETE tenant', method: 'DELETE', path: `/admin/tenants/${id}${rest}`, body: noBody, auth: adminAuth })),
  fc.string({ maxLength: 70 }).filter((id) => id !== FUZZ.tenants.a.id && id !== FUZZ.tenants.b.id).chain((id) =>
    request({ what: 'admin odd id', method: 'PUT', path: `/admin/tenants/${encodeURIComponent(id)}`, body: jsonBody(tenantConfig), auth: adminAuth, methods: fc.constantFrom('GET', 'POST', 'DELETE') }),
  ),
);

const reads = fc.constantFrom(...READ_PATHS).chain((path) =>
  request({
    what: `GET ${path.replace(/\/(acme|globex)/, '/:id')}`, method: 'GET', path, methods: readMethod, auth: path.startsWith('/admin') || path === '/metrics' ? adminAuth : cleanAuth,
    body: fc.oneof({ weight: 5, arbitrary: noBody }, { weight: 1, arbitrary: jsonBody(chatBody) }),
  }),
);

const odd = oddTarget.chain((path) => request({ what: 'odd target', method: 'POST', path, body: jsonBody(chatBody), methods: readMethod }));

/**
 * Bytes that are not HTTP at all, or heads that break the grammar. Each ends in an empty line, so a parser that
 * is waiting for the end of a head has one (a head cut short waits for the runtime's header timeout instead).
 */
const garbage = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((b) => b.some((x) => x !== 13 && x !== 10)).map((b) => ({ what: 'raw bytes', bytes: concat(b, bytes('\r\n\r\n')) })),
  fc.constantFrom(
    'GET\r\n\r\n', 'GET / HTTP/1.1\r\n\r\n', 'GET / HTTP/1.1\nHost: x\n\n', 'GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
    'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}', 'GET /health HTTP/1.1\r\nHost: x\r\n bad-fold: y\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n',
    'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  ).map((s) => ({ what: 'raw head', bytes: bytes(s) })),
).map(({ what, bytes: raw }): FuzzRequest => ({ what, method: '', target: '', version: '', headers: [], host: null, body: new Uint8Array(0), framing: 'unframed', principal: 'none', raw }));

/** One generated request of any kind; weights favour the inference routes, where bodies are parsed. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 12, arbitrary: inference },
  { weight: 3, arbitrary: admin },
  { weight: 3, arbitrary: reads },
  { weight: 1, arbitrary: odd },
  { weight: 1, arbitrary: garbage },
);
