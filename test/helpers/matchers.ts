// vitest's asymmetric matchers (expect.any, expect.stringContaining, ...) are declared to return `any`, so that they
// fit any typed position; in an object literal that `any` is what the lint's no-unsafe-assignment exists to catch.
// These hand back the same matchers typed as `unknown`: they still fit an expected object, and switch nothing off.
import { expect } from 'vitest';

export const anyOf = (type: unknown): unknown => expect.any(type);
export const stringContaining = (text: string): unknown => expect.stringContaining(text);
export const stringMatching = (pattern: string | RegExp): unknown => expect.stringMatching(pattern);
