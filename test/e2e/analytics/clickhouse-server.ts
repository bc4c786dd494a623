// A real ClickHouse for the analytics e2e tests: CLICKHOUSE_URL when set (CI starts one), otherwise a private
// server started through scripts/clickhouse.sh on a free port in a temp dir and stopped by the caller.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClickHouseClient } from '../../../src/analytics/sinks/clickhouse.ts';

const SCRIPT = resolve(import.meta.dirname, '../../../scripts/clickhouse.sh');

/** The next port to try in KVROUTE_PORT_RANGE (each is handed out once per process). */
let nextInRange: number | undefined;

/**
 * A free port on 127.0.0.1: one the kernel picks, or, with KVROUTE_PORT_RANGE=FIRST-LAST (a machine shared by
 * several runs that each keep to their own range), the next free one in that range.
 */
export async function freePort(): Promise<number> {
  const range = process.env.KVROUTE_PORT_RANGE;
  if (!range) return listenFree(0);
  const m = /^(\d+)-(\d+)$/.exec(range);
  if (!m) throw new Error(`KVROUTE_PORT_RANGE must be FIRST-LAST (e.g. 18200-18299), got '${range}'`);
  const [first, last] = [Number(m[1]), Number(m[2])];
  for (nextInRange ??= first; nextInRange <= last; ) {
    const port = nextInRange++;
    const ok = await listenFree(port).then(() => true, () => false);
    if (ok) return port;
  }
  throw new Error(`no free port left in KVROUTE_PORT_RANGE ${range}`);
}

function listenFree(port: number): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(port, '127.0.0.1', () => {
      const picked = (s.address() as { port: number }).port;
      s.close(() => ok(picked));
    });
  });
}

export interface PrivateClickHouse {
  url: string;
  dir: string;
  port: number;
  start(): void;
  stop(): void;
  /** Stops the server and removes its data. */
  dispose(): void;
}

/** Starts a private server (needs clickhouse-server on PATH or in /usr/sbin). */
export async function startPrivateClickHouse(): Promise<PrivateClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'kvroute-ch-'));
  const port = await freePort();
  const run = (cmd: string) => execFileSync('bash', [SCRIPT, cmd, dir, String(port)], { stdio: 'pipe', timeout: 60_000 });
  const ch: PrivateClickHouse = {
    url: `http://127.0.0.1:${port}`,
    dir,
    port,
    start: () => void run('start'),
    stop: () => void run('stop'),
    dispose: () => {
      try {
        run('stop');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  ch.start();
  return ch;
}

/** CLICKHOUSE_URL if set, else a private server; `release` stops what this call started. */
export async function useClickHouse(): Promise<{ url: string; release(): void }> {
  if (process.env.CLICKHOUSE_URL) return { url: process.env.CLICKHOUSE_URL, release: () => {} };
  const ch = await startPrivateClickHouse();
  return { url: ch.url, release: () => ch.dispose() };
}

/** A database name unique to this test run, so parallel suites never see each other's rows. */
export function testDatabase(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
}

export async function dropDatabase(url: string, database: string): Promise<void> {
  const client = createClickHouseClient({ url });
  try {
    await client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
  } finally {
    await client.close();
  }
}
