// docs/engines.md's table of engine signals is the adapters' own rendering: changing an adapter without running
// scripts/engines-doc.ts fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { engineSignalsTable } from '../../../gpu-backends/adapters/signals-table.ts';
import { DOC, withTable } from '../../../scripts/engines-doc.ts';

describe('docs/engines.md', () => {
  it('holds the signals table rendered from the adapters', () => {
    const doc = readFileSync(DOC, 'utf8');
    expect(doc).toContain(engineSignalsTable());
    expect(withTable(doc)).toBe(doc);
  });

  it('the table has a row per engine kind and says where llama.cpp states cached tokens', () => {
    const table = engineSignalsTable();
    for (const kind of ['vllm', 'sglang', 'tgi', 'llama-cpp', 'openai-compatible']) expect(table).toContain(`| \`${kind}\` |`);
    expect(table).toMatch(/`llama-cpp`.*`llamacpp:prompt_tokens_total` \|.*`timings.cache_n`.*`GET \/slots`/);
  });
});
