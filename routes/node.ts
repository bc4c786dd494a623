// The Node router's entry: the Node runtime (src/runtimes/node.ts) serving the app that routes/app.ts assembles. The
// CLI (`kvroute serve`, `kvroute start:node`), the library entry and the tests start the router through this.
import { startNodeServer, type NodeRouter, type NodeRouterOptions } from '../src/runtimes/node.ts';
import { createApp } from './app.ts';

export type { CloseOptions, NodeRouter, NodeRouterOptions } from '../src/runtimes/node.ts';

export function startNodeRouter(opts: NodeRouterOptions): Promise<NodeRouter> {
  return startNodeServer(opts, createApp);
}
