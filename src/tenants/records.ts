// The stored shapes of tenants and keys, as zod schemas: what comes back from KV, the TenantWriter Durable Object
// and the state file is parsed with these before it is trusted (a record written by an older version, or by hand,
// gets a clear error instead of a crash deep inside a request; see src/util/parse-stored.ts).
import { z } from 'zod';
import { tenantConfigSchema } from '../config/schema.ts';
import type { ApiKeyRecord, TenantRecord } from './store.ts';

export const apiKeyRecordSchema: z.ZodType<ApiKeyRecord> = z.strictObject({
  keyId: z.string().min(1),
  tenantId: z.string().min(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest'),
  name: z.string().optional(),
  createdAt: z.string(),
});

/** A record's identity without its config: cheap to check on every read. */
export const tenantRecordHeadSchema = z.object({
  tenantId: z.string().min(1),
  version: z.number().int().positive(),
  updatedAt: z.string(),
});

export const tenantRecordSchema: z.ZodType<TenantRecord> = tenantRecordHeadSchema.extend({ config: tenantConfigSchema });
