// `npm run deps`: the import-boundary check (.dependency-cruiser.cjs) over every folder of ours, minus the known
// violations listed in .dependency-cruiser-known-violations.json while the layout moves are pending.
// dependency-cruiser (17.x) applies --ignore-known to module and dependency violations but not to folder-scope
// ones (folder cycles), so those are matched against the same file here, by rule and folder pair.
// `npm run deps -- --baseline` rewrites the known-violations file from the current tree (only ever to shrink it).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const ROOTS = ['src', 'routes', 'gpu-backends', 'bin', 'bench', 'test', 'scripts'];
const KNOWN = '.dependency-cruiser-known-violations.json';
const depcruise = (args) => execFileSync('npx', ['depcruise', ...ROOTS, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'inherit'] });

if (process.argv.includes('--baseline')) {
  depcruise(['--output-type', 'baseline', '--output-to', KNOWN]);
  console.log(`${KNOWN}: ${JSON.parse(readFileSync(KNOWN, 'utf8')).length} known violations`);
  process.exit(0);
}

const known = existsSync(KNOWN) ? JSON.parse(readFileSync(KNOWN, 'utf8')) : [];
let result;
try {
  result = JSON.parse(depcruise(['--ignore-known', KNOWN, '--output-type', 'json']));
} catch (err) {
  // depcruise exits non-zero when it finds errors; its JSON is on stdout all the same.
  if (!err.stdout) throw err;
  result = JSON.parse(err.stdout);
}
const isKnownFolderViolation = (v) => known.some((k) => k.type === v.type && k.rule.name === v.rule.name && k.from === v.from && k.to === v.to);
// Folder violations name folders (no file extension) in `from`.
const isFolderViolation = (v) => !/\.\w+$/.test(v.from);
let ignored = 0;
const open = [];
for (const v of result.summary.violations) {
  if (v.rule.severity === 'ignore' || (isFolderViolation(v) && isKnownFolderViolation(v))) ignored++;
  else if (v.rule.severity === 'error') open.push(v);
}
for (const v of open) {
  const path = v.cycle ? [v.from, ...v.cycle.map((c) => c.name)].join(' -> ') : `${v.from} -> ${v.to}`;
  console.log(`error ${v.rule.name}: ${path}`);
}
console.log(`${open.length} violations, ${ignored} known violations ignored (${KNOWN}), ${result.summary.totalCruised} modules, ${result.summary.totalDependenciesCruised} dependencies cruised`);
process.exit(open.length ? 1 : 0);
