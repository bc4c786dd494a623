// The Worker's bindings as seen by tests through `env` (cloudflare:test / cloudflare:workers).
import type { Env as WorkerEnv } from '../../src/workers/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }

  /**
   * What cloudflare:test's getQueueResult() resolves to. vitest-pool-workers names this type as declared in
   * @cloudflare/workers-types/experimental; the stable types this project compiles against do not declare it.
   */
  interface FetcherQueueResult {
    outcome: string;
    ackAll: boolean;
    retryBatch: { retry: boolean; delaySeconds?: number };
    explicitAcks: string[];
    retryMessages: { msgId: string; delaySeconds?: number }[];
  }
}
