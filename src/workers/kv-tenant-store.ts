// Workers: tenant configs and key hashes in Workers KV (read on the hot path, cached per isolate by the
// TenantDirectory). KV has no compare-and-swap, so config writes go through a Durable Object per tenant
// (TenantWriter) that holds the authoritative version, checks If-Match, then writes KV.
import { z } from 'zod';
import { tenantConfigSchema, type TenantConfig } from '../config/schema.ts';
import { apiKeyRecordSchema, tenantRecordHeadSchema, tenantRecordSchema } from '../tenants/records.ts';
import { VersionConflict, checkVersion, type ApiKeyRecord, type TenantRecord, type TenantStore } from '../tenants/store.ts';
import { boundedCache } from '../util/lru.ts';
import { parseStored } from '../util/parse-stored.ts';

const tenantKey = (id: string) => `tenant:${id}`;
const keyKey = (hash: string) => `key:${hash}`;
const indexKey = (tenantId: string, keyId: string) => `tkey:${tenantId}:${keyId}`;

/** What a TenantWriter write answers: its result, or the version the writer holds when If-Match did not match. */
export type WriterOutcome<T> = { done: T } | { conflict: number | null };

/**
 * The TenantWriter's RPC methods (Durable Object in tenant-writer.ts, logic in TenantWriterCore below). Configs
 * and records cross as JSON text, the form KV holds them in: a parsed config's records have no prototype
 * (src/config/schema.ts), and Workers RPC refuses to serialise such objects.
 */
export interface TenantWriterRpc {
  /** The authoritative record, or null when the tenant does not exist. */
  record(): Promise<string | null>;
  put(tenantId: string, configJson: string, ifMatch?: number): Promise<WriterOutcome<string>>;
  remove(tenantId: string, ifMatch?: number): Promise<WriterOutcome<boolean>>;
}

export interface KvStoreEnv {
  kv: KVNamespace;
  /** Returns the TenantWriter DO stub for a tenant. */
  writer(tenantId: string): TenantWriterRpc;
}

async function listAll(kv: KVNamespace, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown> = await kv.list({ prefix, cursor });
    for (const k of page.keys) names.push(k.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names;
}

/** JSON text that holds a value of `schema`. */
const jsonOf = <T>(schema: z.ZodType<T>) =>
  z
    .string()
    .transform((text, ctx): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON text' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** What KvTenantStore sends the TenantWriter. */
const writerRequestSchema = z.strictObject({ tenantId: z.string().min(1), config: jsonOf(tenantConfigSchema).optional(), ifMatch: z.number().int().nonnegative().optional() });
/** The TenantWriter's answers, checked like stored data (the writer may run another version mid-deploy). */
const recordAnswerSchema = jsonOf(tenantRecordSchema).nullable();
const outcomeSchema = <T>(done: z.ZodType<T>): z.ZodType<WriterOutcome<T>> => z.union([z.object({ done }), z.object({ conflict: z.number().int().nullable() })]);
const putOutcomeSchema = outcomeSchema(jsonOf(tenantRecordSchema));
const removeOutcomeSchema = outcomeSchema(z.boolean());

/** Tenants whose parsed record is kept (by version) so that a config is parsed once per version, not per read. */
const MAX_PARSED_TENANTS = 10_000;

export class KvTenantStore implements TenantStore {
  private readonly parsed = boundedCache<string, TenantRecord>({ max: MAX_PARSED_TENANTS });

  constructor(private env: KvStoreEnv) {}

  /**
   * The hot-path read (the TenantDirectory asks once per TTL): the record's version is checked on every read, its
   * config parsed only when the version is new.
   */
  async getTenant(id: string): Promise<TenantRecord | null> {
    const raw = await this.env.kv.get<unknown>(tenantKey(id), 'json');
    if (raw === null) return null;
    const where = `The stored config of tenant '${id}'`;
    const head = parseStored(tenantRecordHeadSchema, raw, where);
    const known = this.parsed.get(id);
    if (known && known.version === head.version && known.updatedAt === head.updatedAt) return known;
    const rec = parseStored(tenantRecordSchema, raw, where);
    this.parsed.set(id, rec);
    return rec;
  }

  /** Strongly consistent read (the writer's own copy), for ETags in the admin API. */
  async getTenantLatest(id: string): Promise<TenantRecord | null> {
    return parseStored(recordAnswerSchema, await this.env.writer(id).record(), `The TenantWriter's record of tenant '${id}'`);
  }

  async putTenant(id: string, config: TenantConfig, ifMatch?: number): Promise<TenantRecord> {
    return doneOrConflict(parseStored(putOutcomeSchema, await this.env.writer(id).put(id, JSON.stringify(config), ifMatch), `The TenantWriter's answer to a put for tenant '${id}'`));
  }

  async deleteTenant(id: string, ifMatch?: number): Promise<boolean> {
    return doneOrConflict(parseStored(removeOutcomeSchema, await this.env.writer(id).remove(id, ifMatch), `The TenantWriter's answer to a delete for tenant '${id}'`));
  }

  async listTenants(): Promise<string[]> {
    return (await listAll(this.env.kv, 'tenant:')).map((n) => n.slice('tenant:'.length)).sort();
  }

  async keyByHash(hash: string): Promise<ApiKeyRecord | null> {
    const raw = await this.env.kv.get<unknown>(keyKey(hash), 'json');
    return raw === null ? null : parseStored(apiKeyRecordSchema, raw, 'A stored API key record');
  }

  async putKey(record: ApiKeyRecord): Promise<void> {
    await this.env.kv.put(keyKey(record.hash), JSON.stringify(record));
    await this.env.kv.put(indexKey(record.tenantId, record.keyId), record.hash);
  }

  async deleteKey(tenantId: string, keyId: string): Promise<boolean> {
    const hash = await this.env.kv.get(indexKey(tenantId, keyId));
    if (!hash) return false;
    await this.env.kv.delete(keyKey(hash));
    await this.env.kv.delete(indexKey(tenantId, keyId));
    return true;
  }

  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const out: ApiKeyRecord[] = [];
    for (const name of await listAll(this.env.kv, `tkey:${tenantId}:`)) {
      const hash = await this.env.kv.get(name);
      const rec = hash ? await this.keyByHash(hash) : null;
      if (rec) out.push(rec);
    }
    return out;
  }
}

function doneOrConflict<T>(outcome: WriterOutcome<T>): T {
  if ('conflict' in outcome) throw new VersionConflict(outcome.conflict);
  return outcome.done;
}

/**
 * The per-tenant writer: serialises config writes (a Durable Object handles one call at a time for its storage
 * operations), so If-Match is a real compare-and-swap even though KV is eventually consistent.
 */
export class TenantWriterCore implements TenantWriterRpc {
  constructor(
    private storage: DurableObjectStorage,
    private kv: KVNamespace,
  ) {}

  private async current(): Promise<TenantRecord | null> {
    const stored = await this.storage.get<unknown>('rec');
    return stored === undefined ? null : parseStored(tenantRecordSchema, stored, "The TenantWriter's stored record");
  }

  async record(): Promise<string | null> {
    const current = await this.current();
    return current && JSON.stringify(current);
  }

  async put(tenantId: string, configJson: string, ifMatch?: number): Promise<WriterOutcome<string>> {
    const req = writerRequest({ tenantId, config: configJson, ifMatch });
    if (!req.config) throw new Error('invalid writer request: put needs a config');
    const current = await this.current();
    const conflict = conflictOf(current, req.ifMatch);
    if (conflict) return conflict;
    const rec: TenantRecord = { tenantId: req.tenantId, version: (current?.version ?? 0) + 1, config: req.config, updatedAt: new Date().toISOString() };
    const text = JSON.stringify(rec);
    await this.storage.put('rec', rec);
    await this.kv.put(tenantKey(req.tenantId), text);
    return { done: text };
  }

  async remove(tenantId: string, ifMatch?: number): Promise<WriterOutcome<boolean>> {
    const req = writerRequest({ tenantId, ifMatch });
    const current = await this.current();
    const conflict = conflictOf(current, req.ifMatch);
    if (conflict) return conflict;
    if (!current) return { done: false };
    await this.storage.delete('rec');
    await this.kv.delete(tenantKey(req.tenantId));
    for (const name of await listAll(this.kv, `tkey:${req.tenantId}:`)) {
      const hash = await this.kv.get(name);
      if (hash) await this.kv.delete(keyKey(hash));
      await this.kv.delete(name);
    }
    return { done: true };
  }
}

/** The writer's arguments come from another Worker (maybe of another version): checked before anything is written. */
function writerRequest(input: unknown): z.infer<typeof writerRequestSchema> {
  const r = writerRequestSchema.safeParse(input);
  if (!r.success) throw new Error(`invalid writer request: ${r.error.issues[0]?.message}`);
  return r.data;
}

function conflictOf(current: TenantRecord | null, ifMatch: number | undefined): { conflict: number | null } | null {
  try {
    checkVersion(current, ifMatch);
    return null;
  } catch (e) {
    if (e instanceof VersionConflict) return { conflict: e.current };
    throw e;
  }
}
