import { describe, it, expect } from 'vitest';
import { experimentSchema, type ExperimentInput } from '../../../src/config/experiments.ts';
import { assignArm, bucketOf, shouldShadow, stickyKeyOf } from '../../../src/experiments/assignment.ts';

const exp = (arms: [string, number][], extra: Partial<ExperimentInput> = {}) =>
  experimentSchema.parse({ name: 'exp1', model: 'm', arms: arms.map(([name, weight]) => ({ name, weight, pool: 'p' })), ...extra });

const KEYS = 100_000;
const keys = Array.from({ length: KEYS }, (_, i) => `u:user-${i}`);

function shares(e: ReturnType<typeof exp>): Map<string, number> {
  const n = new Map<string, number>();
  for (const k of keys) {
    const a = assignArm(e, k).arm.name;
    n.set(a, (n.get(a) ?? 0) + 1);
  }
  return n;
}

describe('sticky assignment', () => {
  it.each([
    [[['a', 50], ['b', 50]]],
    [[['control', 90], ['treat', 10]]],
    [[['a', 33.33], ['b', 33.33], ['c', 33.34]]],
    [[['a', 1], ['b', 4], ['c', 95]]],
  ] as [string, number][][][])('each arm within 1 point of its weight over 100k keys: %j', (arms) => {
    const n = shares(exp(arms));
    for (const [name, w] of arms) expect(Math.abs(((n.get(name) ?? 0) / KEYS) * 100 - w)).toBeLessThan(1);
  });

  it('is deterministic and salt-dependent', () => {
    const e = exp([['a', 50], ['b', 50]]);
    expect(keys.slice(0, 100).map((k) => assignArm(e, k).bucket)).toEqual(keys.slice(0, 100).map((k) => assignArm(e, k).bucket));
    const resalted = exp([['a', 50], ['b', 50]], { salt: 'other' });
    const same = keys.slice(0, 10_000).filter((k) => assignArm(e, k).arm.name === assignArm(resalted, k).arm.name).length;
    expect(same / 10_000).toBeGreaterThan(0.45);
    expect(same / 10_000).toBeLessThan(0.55);
  });

  it('pins known buckets (same value on every runtime: only 32-bit integer hashing)', () => {
    // Golden values: the Workers-runtime test asserts the same numbers inside workerd.
    expect([bucketOf('exp1', 'u:alice'), bucketOf('exp1', 'k:key_1'), bucketOf('s', 'h:x')]).toEqual([6700, 8958, 1171]);
  });

  it('raising treatment 10% -> 20% moves exactly the users it must, all from control to treatment', () => {
    const before = exp([['control', 90], ['treat', 10]]);
    const after = exp([['control', 80], ['treat', 20]]);
    let moved = 0;
    for (const k of keys) {
      const x = assignArm(before, k).arm.name;
      const y = assignArm(after, k).arm.name;
      if (x !== y) {
        moved++;
        expect([x, y]).toEqual(['control', 'treat']);
      }
    }
    // Exactly the keys whose bucket is in [8000, 9000): 10% of keys within sampling noise.
    const expected = keys.filter((k) => { const b = bucketOf('exp1', k); return b >= 8000 && b < 9000; }).length;
    expect(moved).toBe(expected);
    expect(Math.abs(moved / KEYS - 0.1)).toBeLessThan(0.01);
  });

  it('arms whose boundaries do not move keep every key; adjacent trades touch only the two arms', () => {
    const before = exp([['a', 40], ['b', 10], ['c', 20], ['d', 30]]);
    const after = exp([['a', 40], ['b', 15], ['c', 15], ['d', 30]]);
    for (const k of keys) {
      const x = assignArm(before, k).arm.name;
      const y = assignArm(after, k).arm.name;
      if (x === 'a' || x === 'd') expect(y).toBe(x);
      if (x !== y) expect([x, y]).toEqual(['c', 'b']);
    }
  });

  it('appending an arm that takes weight from the last one moves keys only into the new arm', () => {
    const before = exp([['a', 70], ['b', 30]]);
    const after = exp([['a', 70], ['b', 20], ['c', 10]]);
    for (const k of keys) {
      const x = assignArm(before, k).arm.name;
      const y = assignArm(after, k).arm.name;
      if (x !== y) expect([x, y]).toEqual(['b', 'c']);
    }
  });

  it('a zero-weight arm gets nobody', () => {
    const e = exp([['a', 0], ['b', 100]]);
    expect(keys.slice(0, 5000).every((k) => assignArm(e, k).arm.name === 'b')).toBe(true);
  });
});

describe('sticky key precedence', () => {
  const e = exp([['a', 100]], { stickyKey: { header: 'X-Session' } });
  const all = { bodyUser: 'alice', headers: new Headers({ 'x-session': 's-1' }), apiKeyId: 'key_1', requestId: 'req_1' };

  it('header > body user > API key > request id', () => {
    expect(stickyKeyOf(all, e)).toEqual({ key: 'h:s-1', source: 'header' });
    expect(stickyKeyOf({ ...all, headers: new Headers() }, e)).toEqual({ key: 'u:alice', source: 'user' });
    expect(stickyKeyOf({ ...all, headers: undefined, bodyUser: '  ' }, e)).toEqual({ key: 'k:key_1', source: 'api_key' });
    expect(stickyKeyOf({ requestId: 'req_1' }, e)).toEqual({ key: 'r:req_1', source: 'request' });
  });

  it('ignores the header when the experiment configures none, and accepts plain header records', () => {
    const noHeader = exp([['a', 100]]);
    expect(stickyKeyOf(all, noHeader).source).toBe('user');
    expect(stickyKeyOf({ headers: { 'x-session': 'abc' } }, e)).toEqual({ key: 'h:abc', source: 'header' });
  });

  it('ignores a non-string user field and caps long values', () => {
    expect(stickyKeyOf({ bodyUser: 42, apiKeyId: 'k' }, e).source).toBe('api_key');
    expect(stickyKeyOf({ bodyUser: 'x'.repeat(1000) }, e).key.length).toBe(2 + 256);
  });
});

describe('shadow sampling', () => {
  const ids = Array.from({ length: 50_000 }, (_, i) => `req-${i}`);
  it('samples at the configured rate, reproducibly, and the noise floor among shadowed requests', () => {
    const e = exp([['a', 100]], { shadow: { pool: 's', sampleRate: 0.2, noiseFloorRate: 0.5 } });
    const plans = ids.map((id) => shouldShadow(e, id));
    const shadowed = plans.filter((p) => p.shadow).length;
    const noise = plans.filter((p) => p.noiseFloor).length;
    expect(Math.abs(shadowed / ids.length - 0.2)).toBeLessThan(0.01);
    expect(Math.abs(noise / shadowed - 0.5)).toBeLessThan(0.03);
    expect(plans.every((p) => p.shadow || !p.noiseFloor)).toBe(true);
    expect(ids.slice(0, 100).map((id) => shouldShadow(e, id))).toEqual(plans.slice(0, 100));
  });
  it('rate 0 or no shadow config never samples; rate 1 always does', () => {
    expect(shouldShadow(exp([['a', 100]]), 'r').shadow).toBe(false);
    expect(ids.slice(0, 1000).some((id) => shouldShadow(exp([['a', 100]], { shadow: { pool: 's', sampleRate: 0 } }), id).shadow)).toBe(false);
    expect(ids.slice(0, 1000).every((id) => shouldShadow(exp([['a', 100]], { shadow: { pool: 's', sampleRate: 1 } }), id).shadow)).toBe(true);
  });
});
