// Every relative link in the user docs points at a file of the repository (and a heading, when it names one).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { brokenLinks, headingAnchors } from '../../helpers/markdown-links.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'bench/README.md',
  ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
];

describe('links in README.md, CONTRIBUTING.md, bench/README.md and docs/*.md', () => {
  it.each(DOCS)('%s: every relative link resolves', (doc) => {
    const file = join(ROOT, doc);
    expect(brokenLinks(readFileSync(file, 'utf8'), file)).toEqual([]);
  });
});

describe('the link check', () => {
  const file = join(ROOT, 'docs', 'page.md');
  it('reports a link to a missing file or heading, and skips URLs and code', () => {
    const md = [
      '# Page',
      'See [routing](routing.md), [gone](gone.md), [README](../README.md) and ![chart](../bench/results/nope.png).',
      '[a heading](routing.md#one-router-or-many-the-deployment-decides) and [no heading](routing.md#no-such-part)',
      '[web](https://example.com/x.md) `[code](missing.md)` [self](#page) [self, wrong](#pages)',
      '```',
      '[in a block](missing-too.md)',
      '```',
    ].join('\n');
    expect(brokenLinks(md, file)).toEqual([
      { line: 2, target: 'gone.md', why: 'no such file' },
      { line: 2, target: '../bench/results/nope.png', why: 'no such file' },
      { line: 3, target: 'routing.md#no-such-part', why: 'no such heading' },
      { line: 4, target: '#pages', why: 'no such heading' },
    ]);
  });

  it("makes GitHub's heading anchors", () => {
    expect([...headingAnchors('# A `code` title: with, punctuation\n## Same\n## Same\n')]).toEqual([
      'a-code-title-with-punctuation',
      'same',
      'same-1',
    ]);
  });
});
