// The Worker's bindings as seen by tests through `env` (cloudflare:test / cloudflare:workers).
import type { Env as WorkerEnv } from '../../src/workers/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
