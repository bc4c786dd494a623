// The Worker's entry (wrangler.toml `main`): the Workers runtime (src/runtimes/worker.ts) serving the app that
// routes/app.ts assembles, and the Durable Object classes wrangler.toml binds.
import { createWorker } from '../src/runtimes/worker.ts';
import { createApp } from './app.ts';

export { BackendMonitor } from '../src/workers/backend-monitor.ts';
export { DriftDurableObject } from '../src/workers/drift-durable-object.ts';
export { PopularityBoardDurableObject } from '../src/workers/popularity-board-durable-object.ts';
export { TenantWriter } from '../src/workers/tenant-writer.ts';

export default createWorker(createApp);
