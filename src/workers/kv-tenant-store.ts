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

interface WriterStub {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

export interface KvStoreEnv {
  kv: KVNamespace;
  /** Returns the TenantWriter DO stub for a tenant. */
  writer(tenantId: string): WriterStub;
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

/** What KvTenantStore sends the TenantWriter. */
const writerRequestSchema = z.strictObject({ tenantId: z.string().min(1), config: tenantConfigSchema.optional(), ifMatch: z.number().int().nonnegative().optional() });
/** The TenantWriter's answers besides a record. */
const conflictSchema = z.object({ current: z.number().int().nullable() });
const deletedSchema = z.object({ deleted: z.boolean() });

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
    const res = await this.env.writer(id).fetch('https://writer/get');
    return res.status === 404 ? null : parseStored(tenantRecordSchema, await res.json<unknown>(), `The TenantWriter's record of tenant '${id}'`);
  }

  private async write(id: string, op: 'put' | 'delete', config?: TenantConfig, ifMatch?: number) {
    const res = await this.env.writer(id).fetch(`https://writer/${op}`, {
      method: 'POST',
      body: JSON.stringify({ tenantId: id, config, ifMatch }),
    });
    if (res.status === 412) throw new VersionConflict(parseStored(conflictSchema, await res.json<unknown>(), `The TenantWriter's conflict answer for tenant '${id}'`).current);
    if (!res.ok) throw new Error(`the TenantWriter of tenant '${id}' answered ${res.status}: ${await res.text()}`);
    return res;
  }

  async putTenant(id: string, config: TenantConfig, ifMatch?: number): Promise<TenantRecord> {
    const res = await this.write(id, 'put', config, ifMatch);
    return parseStored(tenantRecordSchema, await res.json<unknown>(), `The TenantWriter's record of tenant '${id}'`);
  }

  async deleteTenant(id: string, ifMatch?: number): Promise<boolean> {
    const res = await this.write(id, 'delete', undefined, ifMatch);
    return parseStored(deletedSchema, await res.json<unknown>(), `The TenantWriter's delete answer for tenant '${id}'`).deleted;
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

/**
 * The per-tenant writer: serialises config writes (a Durable Object handles one request at a time for its
 * storage operations), so If-Match is a real compare-and-swap even though KV is eventually consistent.
 */
export class TenantWriterCore {
  constructor(
    private storage: DurableObjectStorage,
    private kv: KVNamespace,
  ) {}

  async handle(req: Request): Promise<Response> {
    const op = new URL(req.url).pathname.slice(1);
    const stored = await this.storage.get<unknown>('rec');
    const current = stored === undefined ? null : parseStored(tenantRecordSchema, stored, "The TenantWriter's stored record");
    if (op === 'get') return current ? Response.json(current) : new Response('not found', { status: 404 });
    const body = writerRequestSchema.safeParse(await req.json<unknown>().catch(() => undefined));
    if (!body.success) return Response.json({ error: `invalid writer request: ${body.error.issues[0]?.message}` }, { status: 400 });
    const { tenantId, config, ifMatch } = body.data;
    try {
      checkVersion(current, ifMatch);
    } catch (e) {
      if (e instanceof VersionConflict) return Response.json({ current: e.current }, { status: 412 });
      throw e;
    }
    if (op === 'put') {
      if (!config) return Response.json({ error: 'invalid writer request: put needs a config' }, { status: 400 });
      const rec: TenantRecord = { tenantId, version: (current?.version ?? 0) + 1, config, updatedAt: new Date().toISOString() };
      await this.storage.put('rec', rec);
      await this.kv.put(tenantKey(tenantId), JSON.stringify(rec));
      return Response.json(rec);
    }
    if (op === 'delete') {
      if (!current) return Response.json({ deleted: false });
      await this.storage.delete('rec');
      await this.kv.delete(tenantKey(tenantId));
      for (const name of await listAll(this.kv, `tkey:${tenantId}:`)) {
        const hash = await this.kv.get(name);
        if (hash) await this.kv.delete(keyKey(hash));
        await this.kv.delete(name);
      }
      return Response.json({ deleted: true });
    }
    return new Response('unknown op', { status: 400 });
  }
}
