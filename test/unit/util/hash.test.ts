import { it, expect } from 'vitest';
import { hashString } from '../../../src/util/hash.ts';
it('hash differs by seed', () => { expect(hashString('abc', 1)).not.toBe(hashString('abc', 2)); });
