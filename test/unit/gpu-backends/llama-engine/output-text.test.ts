// Stop strings end the generated text and are not part of it; text that could still become one is held back.
import { describe, expect, it } from 'vitest';
import { OutputText } from '../../../../gpu-backends/llama-engine/output-text.ts';

describe('OutputText', () => {
  it('passes text through when there are no stop strings', () => {
    const o = new OutputText();
    expect(['ab', 'c', 'd'].map((p) => o.push(p))).toEqual(['ab', 'c', 'd']);
    expect(o.flush()).toBe('');
    expect(o.stopped).toBe(false);
  });

  it('cuts at the first stop string, even one that arrives split across pieces', () => {
    const o = new OutputText(['END', '\n\n']);
    const sent = ['hello E', 'N', 'D and more'].map((p) => o.push(p));
    expect(sent.join('')).toBe('hello ');
    expect(o.stopped).toBe(true);
    expect(o.text).toBe('hello ');
    expect(o.push('ignored')).toBe('');
  });

  it('holds back only what could still start a stop string, and releases it at the end', () => {
    const o = new OutputText(['xyz']);
    expect(o.push('abcx')).toBe('abc');
    expect(o.push('y')).toBe('');
    expect(o.push('q')).toBe('xyq');
    expect(o.flush()).toBe('');
    expect(o.text).toBe('abcxyq');
  });

  it('takes the earliest of several stop strings', () => {
    const o = new OutputText(['bb', 'a']);
    expect(o.push('xbba') + o.flush()).toBe('x');
  });
});
