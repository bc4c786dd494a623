// /admin/*: tenant configs and API keys, behind the admin token. Configs are validated here, on write, with
// errors that point at the path; each write bumps the version; If-Match makes concurrent edits safe.
import { Hono, type Context } from 'hono';
import { parseTenantConfig } from '../src/config/schema.ts';
import { errors, HttpError } from '../src/errors.ts';
import type { Platform } from '../src/platform.ts';
import { generateApiKey, sha256Hex } from '../src/tenants/keys.ts';
import { requireAdmin } from './admin-auth.ts';
import { VersionConflict, type TenantRecord } from '../src/tenants/store.ts';
import { errorResponse } from './errors.ts';
import { readLimited } from './read-body.ts';

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Admin bodies are small JSON documents: the largest a tenant may send, and a deadline of their own. */
const ADMIN_BODY = { maxBytes: 4 * 1024 * 1024, timeoutMs: 5_000 };
const readAdminBody = (c: Context) => readLimited(c.req.raw, ADMIN_BODY.maxBytes, ADMIN_BODY.timeoutMs);

function etag(version: number): string {
  return `"${version}"`;
}

/** If-Match: `"3"`, `3` or `W/"3"`; `*` means "must exist" and is treated as unconditional here. */
function ifMatchOf(c: Context): number | undefined {
  const h = c.req.header('if-match');
  if (!h || h.trim() === '*') return undefined;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(h.trim());
  if (!m) throw new HttpError(400, 'invalid_request_error', `If-Match must be a version ETag such as "3", got ${h}`, 'invalid_if_match');
  return Number(m[1]);
}

function tenantView(r: TenantRecord) {
  return { tenantId: r.tenantId, version: r.version, updatedAt: r.updatedAt, config: r.config };
}

function conflict(e: VersionConflict): HttpError {
  return new HttpError(412, 'conflict_error', `Precondition failed: ${e.message}. Re-read the tenant and retry with its current ETag.`, 'version_conflict');
}

export function adminRoutes(p: Platform): Hono {
  const app = new Hono();

  app.use('*', requireAdmin(p));

  app.use('/tenants/:id/*', async (c, next) => {
    if (!TENANT_ID.test(c.req.param('id')!)) {
      return errorResponse(errors.badField('id', 'tenant ids are 1-64 letters, digits, ".", "_" or "-"'));
    }
    await next();
  });

  app.onError((err) => errorResponse(err));

  app.get('/tenants', async (c) => c.json({ tenants: await p.directory.store.listTenants() }));

  const store = p.directory.store;
  const readLatest = (id: string) => (store.getTenantLatest ? store.getTenantLatest(id) : store.getTenant(id));

  app.get('/tenants/:id', async (c) => {
    const rec = await readLatest(c.req.param('id'));
    if (!rec) throw errors.notFound(`Tenant '${c.req.param('id')}' does not exist.`);
    return c.json(tenantView(rec), 200, { etag: etag(rec.version) });
  });

  app.put('/tenants/:id', async (c) => {
    const id = c.req.param('id');
    if (!TENANT_ID.test(id)) throw errors.badField('id', 'tenant ids are 1-64 letters, digits, ".", "_" or "-"');
    const text = await readAdminBody(c);
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (e) {
      throw errors.badJson((e as Error).message);
    }
    const parsed = parseTenantConfig(input);
    if (!parsed.ok) {
      return c.json(
        { error: { message: `Invalid tenant config: ${parsed.problems.join('; ')}`, type: 'invalid_request_error', param: null, code: 'invalid_config', problems: parsed.problems } },
        400,
      );
    }
    try {
      const before = await readLatest(id);
      const rec = await p.directory.store.putTenant(id, parsed.value, ifMatchOf(c));
      p.directory.invalidate(id);
      return c.json(tenantView(rec), before ? 200 : 201, { etag: etag(rec.version) });
    } catch (e) {
      if (e instanceof VersionConflict) throw conflict(e);
      throw e;
    }
  });

  app.delete('/tenants/:id', async (c) => {
    try {
      const ok = await p.directory.store.deleteTenant(c.req.param('id'), ifMatchOf(c));
      p.directory.invalidate(c.req.param('id'));
      if (!ok) throw errors.notFound(`Tenant '${c.req.param('id')}' does not exist.`);
      return c.body(null, 204);
    } catch (e) {
      if (e instanceof VersionConflict) throw conflict(e);
      throw e;
    }
  });

  app.post('/tenants/:id/keys', async (c) => {
    const id = c.req.param('id');
    if (!(await readLatest(id))) throw errors.notFound(`Tenant '${id}' does not exist; create its config first.`);
    let name: string | undefined;
    let imported: string | undefined;
    const text = await readAdminBody(c);
    if (text.trim()) {
      let j: { name?: unknown; key?: unknown };
      try {
        j = JSON.parse(text);
      } catch (e) {
        throw errors.badJson((e as Error).message);
      }
      if (typeof j !== 'object' || j === null || Array.isArray(j)) throw errors.badJson('the body must be a JSON object such as {"name":"ci"}');
      if (j.name !== undefined && typeof j.name !== 'string') throw errors.badField('name', 'must be a string');
      if (j.key !== undefined && (typeof j.key !== 'string' || !/^\S{16,256}$/.test(j.key))) {
        throw errors.badField('key', 'an imported key must be 16-256 characters without spaces');
      }
      name = j.name as string | undefined;
      imported = j.key as string | undefined;
    }
    const generated = generateApiKey();
    const plain = imported ?? generated.plain;
    const keyId = generated.keyId;
    const hash = await sha256Hex(plain);
    const existing = await p.directory.store.keyByHash(hash);
    if (existing && existing.tenantId !== id) throw new HttpError(409, 'conflict_error', 'This key is already in use.', 'key_in_use');
    if (existing) return c.json({ keyId: existing.keyId, key: plain, tenantId: id, name: existing.name ?? null, createdAt: existing.createdAt }, 200);
    const createdAt = new Date().toISOString();
    await p.directory.store.putKey({ keyId, tenantId: id, hash, name, createdAt });
    // The plain key is returned exactly once; only its hash is stored.
    return c.json({ keyId, key: plain, tenantId: id, name: name ?? null, createdAt }, 201);
  });

  app.get('/tenants/:id/keys', async (c) => {
    const keys = await p.directory.store.listKeys(c.req.param('id'));
    return c.json({ keys: keys.map((k) => ({ keyId: k.keyId, name: k.name ?? null, createdAt: k.createdAt })) });
  });

  app.delete('/tenants/:id/keys/:keyId', async (c) => {
    const ok = await p.directory.store.deleteKey(c.req.param('id'), c.req.param('keyId'));
    p.directory.invalidate(c.req.param('id'));
    if (!ok) throw errors.notFound(`Key '${c.req.param('keyId')}' does not exist for tenant '${c.req.param('id')}'.`);
    return c.body(null, 204);
  });

  app.get('/backends', (c) => {
    const out: Record<string, unknown> = {};
    for (const [url, s] of p.states.entries()) {
      const br = s.breaker;
      out[url] = {
        inflight: s.inflight, breaker: br.state, failures: br.failures, ejections: br.ejections, healthy: br.healthy,
        ejectedForMs: br.state === 'open' ? Math.max(0, Math.round(br.openedUntil - p.now())) : 0, engine: s.engine, engineObservedAt: s.engineObservedAt || null,
      };
    }
    return c.json({ backends: out });
  });

  p.mountAdmin?.(app);
  return app;
}
