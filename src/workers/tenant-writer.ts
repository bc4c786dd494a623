import { DurableObject } from 'cloudflare:workers';
import type { Env } from './env.ts';
import { TenantWriterCore } from './kv-tenant-store.ts';

/** Serialises a tenant's config writes so If-Match is a real compare-and-swap over eventually consistent KV. */
export class TenantWriter extends DurableObject<Env> {
  private core = new TenantWriterCore(this.ctx.storage, this.env.CONFIG);
  override async fetch(req: Request): Promise<Response> {
    return this.core.handle(req);
  }
}
