// Runs in Node before the workerd tests: starts a simulated vLLM pool (real processes) that the Worker under
// test reaches with fetch over loopback, and hands its URLs to the tests through `inject('simUrls')`; and an
// engine that wants an API key (`inject('keyedEngineUrl')`, key 'engine-secret').
import type { TestProject } from 'vitest/node';
import { startKeyedEngine } from '../helpers/keyed-engine.ts';
import { startSimPool } from '../helpers/sim-pool.ts';

export default async function setup(project: TestProject) {
  const pool = await startSimPool(2, ['--time-scale', '20']);
  const keyed = await startKeyedEngine('engine-secret');
  project.provide('simUrls', pool.urls);
  project.provide('keyedEngineUrl', keyed.url);
  return async () => {
    await pool.stop();
    await keyed.close();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    simUrls: string[];
    keyedEngineUrl: string;
  }
}
