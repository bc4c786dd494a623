// The Worker's entry (wrangler.toml `main`): the Workers runtime (src/worker.ts) serving the app that routes/app.ts
// assembles, and the Durable Object classes wrangler.toml binds.
import { createWorker } from '../src/worker.ts';
import { createApp } from './app.ts';

export { BackendMonitor, DriftDurableObject, PopularityBoardDurableObject, TenantWriter, type Env } from '../src/worker.ts';

export default createWorker(createApp);
