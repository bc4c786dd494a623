// Unit tests mirror the source tree (docs/testing.md, "Where a test goes"): test/unit/<dir>/ is src/<dir>/, and
// test/unit/{gpu-backends,bench,bin,routes,scripts,docs}/<dir>/ is that folder of the repository.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = join(ROOT, 'test', 'unit');
const TOP_LEVEL = ['gpu-backends', 'bench', 'bin', 'routes', 'scripts', 'docs'];

/** The repository folder that a unit test's folder (relative to test/unit/, '.' for test/unit/ itself) mirrors. */
function mirroredFolder(testFolder: string): string {
  const top = testFolder.split('/')[0] ?? '';
  return TOP_LEVEL.includes(top) ? testFolder : join('src', testFolder);
}

/** The unit test files (relative to test/unit/) whose folder mirrors no folder of the repository. */
function unmirrored(testFiles: readonly string[], isFolder: (path: string) => boolean): string[] {
  return testFiles.filter((file) => !isFolder(join(ROOT, mirroredFolder(dirname(file)))));
}

const isFolder = (path: string) => existsSync(path) && statSync(path).isDirectory();
const unitTests = readdirSync(UNIT, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts'));

describe('test/unit/ mirrors the source tree', () => {
  it('finds the unit tests', () => {
    expect(unitTests.length).toBeGreaterThan(50);
  });

  it('every unit test sits in a folder that exists under src/ (or gpu-backends/, bench/, bin/, routes/, scripts/, docs/)', () => {
    expect(unmirrored(unitTests, isFolder)).toEqual([]);
  });

  it('reports a test in a folder of its own naming', () => {
    const files = ['routing/policies/policies.test.ts', 'router/cors.test.ts', 'adapters/llama-cpp.test.ts', 'bench/nope/x.test.ts'];
    expect(unmirrored(files, isFolder)).toEqual(['router/cors.test.ts', 'adapters/llama-cpp.test.ts', 'bench/nope/x.test.ts']);
    expect(mirroredFolder('gpu-backends/simulator')).toBe('gpu-backends/simulator');
    expect(mirroredFolder('analytics/delivery')).toBe(join('src', 'analytics', 'delivery'));
  });
});
