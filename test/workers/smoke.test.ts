import { SELF } from 'cloudflare:test';
import { it, expect } from 'vitest';
it('worker answers', async () => {
  const r = await SELF.fetch('http://x/');
  expect(await r.text()).toBe('kvroute');
});
