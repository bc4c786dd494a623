// Runs in Node before the workerd tests: starts a simulated vLLM pool (real processes) that the Worker under
// test reaches with fetch over loopback, and hands its URLs to the tests through `inject('simUrls')`.
import type { TestProject } from 'vitest/node';
import { startSimPool } from '../helpers/sim-pool.ts';

export default async function setup(project: TestProject) {
  const pool = await startSimPool(2, ['--time-scale', '20']);
  project.provide('simUrls', pool.urls);
  return async () => {
    await pool.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    simUrls: string[];
  }
}
