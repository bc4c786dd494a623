// The affinity text of Responses API and embeddings bodies (`instructions` + `input`).
import { describe, expect, it } from 'vitest';
import { canonicalLength, canonicalPrefix, prefixHashes } from '../../../src/routing/prefix-hash.ts';

const opts = { model: 'llama', blockChars: 32, maxBlocks: 1000 };
const SYSTEM = 'You are a careful assistant who answers briefly. '.repeat(8);
const QUESTION = 'What is a KV cache and why does prefix caching help? '.repeat(3);

describe('canonical text of input bodies', () => {
  it('a Responses request has the text of the same chat conversation (instructions = system message)', () => {
    const chat = { messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTION }] };
    const asString = { instructions: SYSTEM, input: QUESTION };
    const asItems = { instructions: SYSTEM, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: QUESTION }] }] };
    const asEasyItems = { instructions: SYSTEM, input: [{ role: 'user', content: QUESTION }] };
    const text = canonicalPrefix(chat);
    expect(canonicalPrefix(asString)).toBe(text);
    expect(canonicalPrefix(asItems)).toBe(text);
    expect(canonicalPrefix(asEasyItems)).toBe(text);
    expect(prefixHashes(asItems, opts).hashes).toEqual(prefixHashes(chat, opts).hashes);
    expect(canonicalLength(asItems)).toBe(text.length);
  });

  it("a Responses conversation's next turn extends its previous text; tool items keep their identity", () => {
    const turn1 = { instructions: SYSTEM, input: [{ role: 'user', content: QUESTION }] };
    const turn2 = {
      instructions: SYSTEM,
      input: [
        ...turn1.input,
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'It stores keys and values.' }] },
        { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{"q":"kv"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'found' },
      ],
    };
    const t1 = canonicalPrefix(turn1);
    const t2 = canonicalPrefix(turn2);
    expect(t2.startsWith(t1)).toBe(true);
    expect(t2).toContain('It stores keys and values.');
    expect(t2).toContain('"name":"lookup"');
    expect(canonicalPrefix({ ...turn2, input: [...turn2.input.slice(0, 2), { ...turn2.input[2], name: 'other' }] })).not.toBe(t2);
  });

  it('user words never collide with instructions: roles are marked', () => {
    expect(canonicalPrefix({ input: SYSTEM })).not.toBe(canonicalPrefix({ instructions: SYSTEM }));
    expect(canonicalPrefix({ instructions: SYSTEM })).not.toBe('');
  });

  it('an embeddings input (string, batch, token ids) gives a stable, non-empty key', () => {
    const a = prefixHashes({ input: QUESTION }, opts);
    expect(a.hashes.length).toBeGreaterThan(2);
    expect(prefixHashes({ input: [QUESTION, 'another document'] }, opts).hashes).toEqual(a.hashes);
    expect(canonicalPrefix({ input: [1, 2, 3] })).toContain('1 2 3');
    expect(canonicalPrefix({ input: [[4, 5], [6]] })).toContain('4 5');
    expect(canonicalPrefix({ input: [] })).toBe('');
  });

  it('completions prompts are unchanged', () => {
    expect(canonicalPrefix({ prompt: 'Once upon a time' })).toBe('Once upon a time');
    expect(canonicalPrefix({ prompt: ['a', 'b'] })).toBe('a');
  });
});
