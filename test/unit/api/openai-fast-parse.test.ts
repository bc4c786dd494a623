// The hot path's body check (fastParse) against the zod schemas it stands in for: on any JSON body, a value from
// fastParse is zod's parse of the same body (zod accepts it, and the values are strictly equal), and a body zod
// rejects is never accepted by fastParse; on bodies with the common shapes, fastParse decides without zod.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastParse } from '../../../src/api/openai-fast-parse.ts';
import { inferenceEndpoints, type InferenceKind } from '../../../src/api/openai-api.ts';

// Bodies are built as JSON text, then parsed as the router parses them: so a `__proto__` key is an own property,
// and number literals JSON.stringify cannot write (1e999, -0, unsafe integers) occur.
type Text = string;
const json = (v: unknown): Text => JSON.stringify(v);
const objectText = (entries: [string, Text][]): Text => `{${entries.map(([k, v]) => `${json(k)}:${v}`).join(',')}}`;
const arrayText = (items: Text[]): Text => `[${items.join(',')}]`;

const edgeNumber = fc.constantFrom('1e999', '-1e999', '-0', '0', '-1', '2.0000001', '9007199254740991', '9007199254740993', '-9007199254740992', '1e-400', '1.0');
const junk: fc.Arbitrary<Text> = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '""', '"x"', '[]', '{}', '[null]', '["a"]', '[1]', '[[1]]', '{"type":1}', '{"type":"t"}', '{"__proto__":{}}', '{"include_usage":null}'),
  edgeNumber,
  fc.jsonValue({ maxDepth: 2 }).map(json),
);

/**
 * A field's values: `valid` (what zod accepts and passes through unchanged) or, in a `dirty` body, sometimes
 * `edge` values of the right kind (out of range, not an integer, a `__proto__` key) and sometimes junk.
 */
interface Gen {
  valid: fc.Arbitrary<Text>;
  edge?: fc.Arbitrary<Text>;
}
const pick = (g: Gen, dirty: boolean): fc.Arbitrary<Text> =>
  dirty ? fc.oneof({ arbitrary: g.valid, weight: 25 }, { arbitrary: g.edge ?? junk, weight: 1 }, { arbitrary: junk, weight: 1 }) : g.valid;

const text: Gen = { valid: fc.oneof(fc.constantFrom('a', 'stop', 'text', 'user', 'system'), fc.string({ minLength: 1, maxLength: 6 })).map(json), edge: fc.constant('""') };
const anyText: Gen = { valid: fc.string({ maxLength: 6 }).map(json) };
const bool: Gen = { valid: fc.boolean().map(json) };
const intGen = (min: number): Gen => ({ valid: fc.integer({ min, max: 100_000 }).map(json), edge: edgeNumber });
const numGen = (min: number, max: number): Gen => ({ valid: fc.double({ min, max, noNaN: true }).map(json), edge: fc.oneof(edgeNumber, fc.constantFrom(String(min - 0.5), String(max + 0.5))) });
const anyNumber: Gen = { valid: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(json), edge: edgeNumber };
const list = (item: Gen, dirty: boolean, minLength = 0) => fc.array(pick(item, dirty), { minLength, maxLength: 3 }).map(arrayText);
const obj = (fields: [string, Gen][], dirty: boolean, required: string[] = []) =>
  fc
    .tuple(...fields.map(([k, g]) => (required.includes(k) ? pick(g, dirty).map((v) => v as Text | null) : fc.option(pick(g, dirty), { freq: 2 }))))
    .map((vs) => objectText(vs.flatMap((v, i) => (v === null ? [] : [[fields[i]![0], v] as [string, Text]]))));
const PROTO: Gen = { valid: fc.constant('{}') }; // only ever in dirty bodies (see proto())
const proto = (fields: [string, Gen][], dirty: boolean): [string, Gen][] => (dirty ? [...fields, ['__proto__', PROTO]] : fields);

const typedGen = (dirty: boolean, extra: [string, Gen][] = []): Gen => ({ valid: obj(proto([['type', anyText], ...extra], dirty), dirty, ['type']) });
const record = (value: Gen, dirty: boolean): Gen => ({
  valid: fc.array(fc.tuple(fc.constantFrom('a', 'b', '1', ...(dirty ? ['__proto__'] : [])), pick(value, dirty)), { maxLength: 3 }).map(objectText),
});
const messageGen = (dirty: boolean): Gen => {
  const content: Gen = { valid: fc.oneof(anyText.valid, fc.constant('null'), list(typedGen(dirty, [['text', anyText]]), dirty)) };
  return { valid: obj(proto([['role', text], ['content', content], ['name', anyText]], dirty), dirty, ['role']) };
};

function fieldsOf(kind: 'chat' | 'completions', dirty: boolean): { required: [string, Gen][]; optional: [string, Gen][] } {
  const common: [string, Gen][] = [
    ['stream', bool],
    ['stream_options', { valid: obj([['include_usage', bool], ['x', { valid: fc.jsonValue({ maxDepth: 1 }).map(json) }]], dirty), edge: fc.constant('{"include_usage":null}') }],
    ['temperature', numGen(0, 2)],
    ['top_p', numGen(0, 1)],
    ['user', anyText],
    ['metadata', record({ valid: fc.jsonValue({ maxDepth: 1 }).map(json) }, dirty)],
    ['max_tokens', intGen(1)],
    ['max_completion_tokens', intGen(1)],
    ['n', intGen(1)],
    ['seed', intGen(-100_000)],
    ['stop', { valid: fc.oneof(anyText.valid, list(anyText, dirty)) }],
    ['logprobs', { valid: fc.oneof(bool.valid, intGen(0).valid), edge: edgeNumber }],
    ['top_logprobs', intGen(0)],
    ['frequency_penalty', anyNumber],
    ['presence_penalty', anyNumber],
    ['logit_bias', record(anyNumber, dirty)],
    ['top_k', { valid: fc.jsonValue({ maxDepth: 1 }).map(json) }],
    ['chat_template_kwargs', { valid: fc.jsonValue({ maxDepth: 2 }).map(json) }],
  ];
  if (dirty) common.push(['__proto__', { valid: fc.constantFrom('{}', '{"model":"x"}', 'null') }]);
  const model: [string, Gen] = ['model', text];
  if (kind === 'chat') {
    return {
      required: [model, ['messages', { valid: list(messageGen(dirty), dirty, 1), edge: fc.constant('[]') }]],
      optional: [
        ...common,
        ['tools', { valid: list(typedGen(dirty, [['function', { valid: fc.constant('{"name":"f"}') }]]), dirty) }],
        ['tool_choice', { valid: fc.oneof(anyText.valid, typedGen(dirty).valid) }],
        ['parallel_tool_calls', bool],
        ['response_format', typedGen(dirty)],
      ],
    };
  }
  const int = intGen(0);
  return {
    required: [model, ['prompt', { valid: fc.oneof(anyText.valid, list(anyText, dirty), list(int, dirty), fc.array(list(int, dirty), { maxLength: 2 }).map(arrayText)) }]],
    optional: [...common, ['echo', bool], ['suffix', anyText], ['best_of', intGen(1)]],
  };
}

/**
 * A body of `kind`: every required field, optional ones (some null, which reads as unset), vendor extras, in any
 * order. Dirty bodies also miss required fields and hold edge values and junk.
 */
function bodyText(kind: 'chat' | 'completions', dirty: boolean): fc.Arbitrary<Text> {
  const { required, optional } = fieldsOf(kind, dirty);
  const req = required.map(([k, g]) => (dirty ? fc.option(pick(g, true), { freq: 15 }) : pick(g, false)).map((v): [string, Text] | null => (v === null ? null : [k, v])));
  const opt = optional.map(([k, g]) =>
    fc.option(fc.oneof({ arbitrary: pick(g, dirty), weight: 6 }, { arbitrary: fc.constant('null'), weight: 1 }).map((v): [string, Text] => [k, v]), { freq: 2 }),
  );
  return fc
    .tuple(fc.tuple(...req), fc.tuple(...opt))
    .chain(([r, o]) => fc.shuffledSubarray([...o].filter((e): e is [string, Text] => e !== null)).map((chosen) => [...r.filter((e): e is [string, Text] => e !== null), ...chosen]))
    .chain((entries) => fc.shuffledSubarray(entries, { minLength: entries.length }))
    .map(objectText);
}

describe('fastParse against the zod schemas', () => {
  for (const kind of ['chat', 'completions'] as const) {
    it(`${kind}: a body fastParse accepts is one zod accepts, parsed to the same value; one zod rejects, fastParse leaves to zod`, () => {
      const schema = inferenceEndpoints[kind].schema;
      let accepted = 0;
      let rejected = 0;
      fc.assert(
        fc.property(bodyText(kind, true), (text) => {
          const raw = JSON.parse(text) as Record<string, unknown>;
          const zod = schema.safeParse(raw);
          const fast = fastParse(kind, raw);
          if (!zod.success) {
            rejected++;
            expect(fast).toBeUndefined();
          } else if (fast !== undefined) {
            accepted++;
            expect(fast).toStrictEqual(zod.data);
          }
        }),
        { numRuns: 2_000 },
      );
      // The generator reaches both sides of the contract.
      expect(accepted).toBeGreaterThan(100);
      expect(rejected).toBeGreaterThan(100);
    });

    it(`${kind}: well-formed bodies (nulls of optional fields included) are decided without zod, to zod's value`, () => {
      const schema = inferenceEndpoints[kind].schema;
      fc.assert(
        fc.property(bodyText(kind, false), (text) => {
          const raw = JSON.parse(text) as Record<string, unknown>;
          const fast = fastParse(kind, raw);
          expect(fast).toBeDefined();
          expect(fast).toStrictEqual(schema.parse(raw));
        }),
        { numRuns: 1_000 },
      );
    });
  }

  it('bodies as clients send them are decided without zod, nulls of optional fields read as unset', () => {
    const system = 'You are helpful. '.repeat(60);
    const bodies: [InferenceKind, object][] = [
      ['chat', { model: 'm', messages: [{ role: 'system', content: system }, { role: 'user', content: 'hi' }], max_tokens: 16 }],
      ['chat', { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'https://x' } }] }], stream: true, stream_options: { include_usage: true } }],
      ['chat', { model: 'm', messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] }, { role: 'tool', content: 'r', tool_call_id: 'c' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'auto', user: null, temperature: null, top_k: 5 }],
      ['completions', { model: 'm', prompt: 'hi', max_tokens: 8, stop: ['\n'], logprobs: null, echo: false }],
      ['completions', { model: 'm', prompt: [[1, 2, 3]], seed: -4, logit_bias: { '50256': -100 } }],
    ];
    for (const [kind, body] of bodies) {
      const raw = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
      const fast = fastParse(kind, raw);
      expect(fast, JSON.stringify(body)).toBeDefined();
      expect(fast).toStrictEqual(inferenceEndpoints[kind].schema.parse(raw));
    }
  });

  it('kinds without a fast path are left to zod', () => {
    expect(fastParse('responses', { model: 'm', input: 'hi' })).toBeUndefined();
    expect(fastParse('embeddings', { model: 'm', input: 'hi' })).toBeUndefined();
  });
});
