// The router hashes prefixes inside workerd on Workers and inside Node on servers: both must give the same keys
// or replicas on the two runtimes would disagree about where a prefix lives.
import { expect, it } from 'vitest';
import { prefixHashes } from '../../src/routing/prefix-hash.ts';
import {
  plainPrompt,
  plainPromptHashes,
  plainPromptOptions,
  unicodeChat,
  unicodeChatHashes,
  unicodeChatOptions,
} from '../unit/routing/golden.ts';

it('prefix hashes in workerd equal the values computed on Node (Unicode chat, plain prompt)', () => {
  expect(Array.from(prefixHashes(unicodeChat, unicodeChatOptions).hashes)).toEqual(unicodeChatHashes);
  expect(Array.from(prefixHashes(plainPrompt, plainPromptOptions).hashes)).toEqual(plainPromptHashes);
});
