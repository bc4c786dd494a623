// Lists each unit test file with its main subject (its first value import from a source tree) and the folder
// that mirrors it, so a test can be placed beside its subject: test/unit/<dir>/ mirrors src/<dir>/ and
// gpu-backends/, bench/, bin/, routes/, scripts/ under their own names (docs/testing.md, "Where a test goes").
// Usage: node scripts/test-subjects.mjs   (prints "test  subject  mirror-folder  [moved?]")
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const unit = join(root, 'test/unit');
const trees = /^(src|gpu-backends|bench|bin|routes|scripts)\//;

const tests = readdirSync(unit, { recursive: true }).filter((f) => f.endsWith('.test.ts')).sort();
for (const test of tests) {
  const text = readFileSync(join(unit, test), 'utf8');
  const subject = [...text.matchAll(/^import (?!type )[^;]*? from '([^']+)'/gms)]
    .map((m) => relative(root, resolve(unit, dirname(test), m[1])))
    .find((path) => trees.test(path));
  const mirror = subject ? dirname(subject).replace(/^src(\/|$)/, '') || '.' : '?';
  const here = dirname(test);
  console.log(`${test}\t${subject ?? '-'}\t${mirror}${mirror === here ? '' : '\t<- not beside its first import'}`);
}
