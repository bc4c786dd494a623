// A pool of N simulated backends on consecutive ports (or free ports with basePort 0), each its own engine.
import { startSimBackend, type SimBackend, type SimBackendOptions } from './server.ts';
import type { FaultsInput } from './faults.ts';

export interface SimPoolOptions extends Omit<SimBackendOptions, 'port' | 'faults'> {
  backends: number;
  /** Backend i listens on basePort + i; 0 picks free ports. */
  basePort: number;
  /** One fault set for every backend, or one per backend index. */
  faults?: FaultsInput | (FaultsInput | undefined)[];
}

export interface SimPool {
  backends: SimBackend[];
  urls: string[];
  close(): Promise<void>;
}

export async function startSimPool(opts: SimPoolOptions): Promise<SimPool> {
  if (!Number.isInteger(opts.backends) || opts.backends < 1) throw new Error(`backends must be a positive integer, got ${opts.backends}`);
  const { backends: n, basePort, faults, ...common } = opts;
  const started: SimBackend[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const f = Array.isArray(faults) ? faults[i] : faults;
      started.push(await startSimBackend({ ...common, port: basePort === 0 ? 0 : basePort + i, faults: f }));
    }
  } catch (err) {
    await Promise.all(started.map((b) => b.close()));
    throw err;
  }
  return {
    backends: started,
    urls: started.map((b) => b.url),
    close: async () => {
      await Promise.all(started.map((b) => b.close()));
    },
  };
}
