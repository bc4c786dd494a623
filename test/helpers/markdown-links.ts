// Relative links in markdown (`[text](path)`, `![alt](path)`, with an optional `#anchor`) that do not resolve to a
// file of the repository, or to a heading of the markdown file they point at. Links in code blocks and code spans
// are not links; absolute URLs are not checked (tests make no outside requests).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface BrokenLink {
  line: number;
  target: string;
  why: string;
}

/** The markdown without fenced code blocks and code spans (replaced by blanks, so line numbers stay). */
function withoutCode(md: string): string {
  return md
    .replace(/^(\s*)(```|~~~)[^\n]*\n[\s\S]*?^\s*\2[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/(`+)[^\n]*?\1/g, (span) => ' '.repeat(span.length));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, ... */
export function headingAnchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const text = md.replace(/^(\s*)(```|~~~)[^\n]*\n[\s\S]*?^\s*\2[^\n]*$/gm, '');
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const plain = m[1]!.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = plain.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

export function brokenLinks(md: string, file: string): BrokenLink[] {
  const out: BrokenLink[] = [];
  const lines = withoutCode(md).split('\n');
  lines.forEach((text, i) => {
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      if (path === '') {
        if (anchor && !headingAnchors(md).has(anchor)) out.push({ line: i + 1, target, why: 'no such heading' });
        continue;
      }
      const full = resolve(dirname(file), decodeURIComponent(path));
      if (!existsSync(full)) {
        out.push({ line: i + 1, target, why: 'no such file' });
        continue;
      }
      if (anchor && full.endsWith('.md') && statSync(full).isFile() && !headingAnchors(readFileSync(full, 'utf8')).has(anchor)) {
        out.push({ line: i + 1, target, why: 'no such heading' });
      }
    }
  });
  return out;
}
