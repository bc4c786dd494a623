// The file format shared by `kvroute serve --config`, the Node state file and the Workers static config:
//   { "tenants": { "<id>": { "config": {...}, "apiKeys"?: ["<plain key>"], "version"?: n } }, "keys"?: [ApiKeyRecord] }
// Plain `apiKeys` are a convenience for hand-written files; they are hashed on load and never written back.
import { z } from 'zod';
import type { EgressContext } from '../config/egress.ts';
import { egressProblems, formatPath, parseConfigInput, tenantConfigSchema, type TenantConfig } from '../config/schema.ts';
import type { ApiKeyRecord } from './store.ts';
import { sha256Hex } from './keys.ts';
import { apiKeyRecordSchema } from './records.ts';

const snapshotSchema = z.strictObject({
  tenants: z.record(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
    z.strictObject({
      config: tenantConfigSchema,
      apiKeys: z.array(z.string().min(8)).optional(),
      version: z.number().int().positive().optional(),
      updatedAt: z.string().optional(),
    }),
  ),
  keys: z.array(apiKeyRecordSchema).default([]),
  adminToken: z.string().min(8).optional(),
});

export interface ParsedSnapshot {
  tenants: Record<string, { version?: number; config: TenantConfig; updatedAt?: string; apiKeys?: string[] }>;
  keys: ApiKeyRecord[];
  adminToken?: string;
}

/**
 * Validates a snapshot. With `egress` (the deployment) every tenant's backend and webhook URLs are also checked
 * against the deployment's egress rules; files that users write (--config, static config) pass it.
 */
export function parseSnapshot(input: unknown, source = 'config', egress?: EgressContext): ParsedSnapshot {
  const r = parseConfigInput(snapshotSchema, input);
  const problems = r.ok ? [] : r.problems;
  if (r.ok && egress) {
    for (const [id, t] of Object.entries(r.value.tenants)) {
      for (const p of egressProblems(t.config, egress)) problems.push(`${formatPath(['tenants', id, 'config'])}.${p.path}: ${p.message}`);
    }
  }
  if (!r.ok || problems.length) throw new Error(`${source} is invalid:\n  ${problems.join('\n  ')}`);
  return r.value;
}

/** Key records for the plain `apiKeys` of a snapshot (hashed here). */
export async function plainKeyRecords(snap: ParsedSnapshot): Promise<ApiKeyRecord[]> {
  const out: ApiKeyRecord[] = [];
  for (const [tenantId, t] of Object.entries(snap.tenants)) {
    for (const [i, plain] of (t.apiKeys ?? []).entries()) {
      const hash = await sha256Hex(plain);
      out.push({ keyId: `cfg${i}-${hash.slice(0, 8)}`, tenantId, hash, name: 'from config file', createdAt: new Date(0).toISOString() });
    }
  }
  return out;
}
