import { DurableObject } from 'cloudflare:workers';
import type { Env } from './env.ts';
import { TenantWriterCore, type TenantWriterRpc, type WriterOutcome } from './kv-tenant-store.ts';

/** Serialises a tenant's config writes so If-Match is a real compare-and-swap over eventually consistent KV. */
export class TenantWriter extends DurableObject<Env> implements TenantWriterRpc {
  private core = new TenantWriterCore(this.ctx.storage, this.env.CONFIG);

  record(): Promise<string | null> {
    return this.core.record();
  }
  put(tenantId: string, configJson: string, ifMatch?: number): Promise<WriterOutcome<string>> {
    return this.core.put(tenantId, configJson, ifMatch);
  }
  remove(tenantId: string, ifMatch?: number): Promise<WriterOutcome<boolean>> {
    return this.core.remove(tenantId, ifMatch);
  }
}
