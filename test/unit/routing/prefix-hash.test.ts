import { describe, expect, it } from 'vitest';
import { canonicalPrefix, prefixHashes } from '../../../src/routing/prefix-hash.ts';
import { plainPrompt, plainPromptHashes, plainPromptOptions, unicodeChat, unicodeChatHashes, unicodeChatOptions } from './golden.ts';

const opts = { model: 'llama', blockChars: 32, maxBlocks: 1000 };
const system = { role: 'system', content: 'You are a careful assistant. '.repeat(10) };

describe('canonical text', () => {
  it("a conversation's next turn extends its previous prompt", () => {
    const turn1 = { messages: [system, { role: 'user', content: 'What is a KV cache? '.repeat(5) }] };
    const turn2 = {
      messages: [...turn1.messages, { role: 'assistant', content: 'It stores attention keys and values.' }, { role: 'user', content: 'And prefix caching?' }],
    };
    const t1 = canonicalPrefix(turn1);
    const t2 = canonicalPrefix(turn2);
    expect(t2.startsWith(t1)).toBe(true);
    const h1 = prefixHashes(turn1, opts).hashes;
    const h2 = prefixHashes(turn2, opts).hashes;
    expect(h1.length).toBeGreaterThan(3);
    expect(h2.length).toBeGreaterThan(h1.length);
    expect(Array.from(h2.slice(0, h1.length))).toEqual(Array.from(h1));
  });

  it('role boundaries matter: the same words under another role are another prefix', () => {
    const a = canonicalPrefix({ messages: [{ role: 'user', content: 'hello' }] });
    const b = canonicalPrefix({ messages: [{ role: 'system', content: 'hello' }] });
    expect(a).not.toBe(b);
  });

  it('content parts render like a string, and key order in tools does not matter', () => {
    const s = canonicalPrefix({ messages: [{ role: 'user', content: 'abc' }] });
    const p = canonicalPrefix({ messages: [{ role: 'user', content: [{ type: 'text', text: 'abc' }] }] });
    expect(p).toBe(s);
    const t1 = canonicalPrefix({ tools: [{ type: 'function', function: { name: 'f', parameters: {} } }], messages: [] });
    const t2 = canonicalPrefix({ tools: [{ function: { parameters: {}, name: 'f' }, type: 'function' }], messages: [] });
    expect(t1).toBe(t2);
  });

  it('a completions prompt is taken as is', () => {
    expect(canonicalPrefix({ prompt: 'abc def' })).toBe('abc def');
    expect(canonicalPrefix({ prompt: ['first', 'second'] })).toBe('first');
    expect(canonicalPrefix({ prompt: [1, 2, 3] })).toBe('1 2 3');
    expect(canonicalPrefix({})).toBe('');
    expect(canonicalPrefix(null)).toBe('');
  });
});

describe('prefix hashes', () => {
  it('only full blocks, at most maxBlocks, while promptChars counts everything', () => {
    const body = { prompt: 'x'.repeat(100) };
    expect(prefixHashes(body, { ...opts, blockChars: 32 }).hashes.length).toBe(3);
    const capped = prefixHashes({ prompt: 'x'.repeat(10_000) }, { ...opts, blockChars: 32, maxBlocks: 5 });
    expect(capped.hashes.length).toBe(5);
    expect(capped.promptChars).toBe(10_000);
    expect(prefixHashes({ prompt: 'short' }, opts).hashes.length).toBe(0);
  });

  it('is chained: equal hashes at depth k mean equal first k blocks', () => {
    const a = prefixHashes({ prompt: `${'A'.repeat(64)}${'B'.repeat(32)}` }, opts).hashes;
    const b = prefixHashes({ prompt: `${'A'.repeat(64)}${'C'.repeat(32)}` }, opts).hashes;
    const c = prefixHashes({ prompt: `${'Z'.repeat(32)}${'A'.repeat(32)}${'B'.repeat(32)}` }, opts).hashes;
    expect(a[0]).toBe(b[0]);
    expect(a[1]).toBe(b[1]);
    expect(a[2]).not.toBe(b[2]);
    // Same block content after a different prefix is a different key.
    expect(c[1]).not.toBe(a[1]);
    expect(c[2]).not.toBe(a[2]);
  });

  it('is seeded by model and salt', () => {
    const body = { prompt: 'y'.repeat(64) };
    const m1 = prefixHashes(body, opts).hashes[0];
    expect(prefixHashes(body, { ...opts, model: 'other' }).hashes[0]).not.toBe(m1);
    expect(prefixHashes(body, { ...opts, salt: 'tenant-a' }).hashes[0]).not.toBe(m1);
    expect(prefixHashes(body, opts).hashes[0]).toBe(m1);
  });

  it('handles Unicode (astral characters, combining marks) deterministically, with the golden values', () => {
    expect(Array.from(prefixHashes(unicodeChat, unicodeChatOptions).hashes)).toEqual(unicodeChatHashes);
    expect(Array.from(prefixHashes(plainPrompt, plainPromptOptions).hashes)).toEqual(plainPromptHashes);
    // Precomposed and decomposed "é" are different texts (no normalisation: the engine sees bytes, not meaning).
    const pre = prefixHashes({ prompt: '\u00e9'.repeat(64) }, opts).hashes[0];
    const emoji = prefixHashes({ prompt: '🙂'.repeat(32) }, opts).hashes[0];
    expect(pre).not.toBe(emoji);
    expect(prefixHashes({ prompt: '🙂'.repeat(32) }, opts).hashes[0]).toBe(emoji);
  });
});
