// Minimal, strict flag parsing for the CLI commands: `--name value`, `--name=value`, boolean `--flag`.
// Unknown flags are an error that names the flag, so a typo never silently runs with defaults.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export function parseFlags<T extends FlagSpec>(argv: string[], options: T) {
  return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
}

/** Parses a numeric flag value, with a clear error naming the flag. */
export function num(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
}
